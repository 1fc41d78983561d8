"""``scratchtui serve``: the same debugger in a web page, one app process per browser tab.

textual-serve (the optional ``web`` extra) runs a small aiohttp server; each browser tab that
opens the page gets its own ``scratchtui demo NAME`` / ``scratchtui run FILE`` process, driven
through Textual's web driver, and the page draws it with xterm.js. Nothing here imports textual
or textual-serve until the server starts, so the base install stays small.
"""

from __future__ import annotations

import shlex
import socket
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

#: Hosts that mean "every interface": the page cannot tell a browser to connect back to them.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})

INSTALL_HINT = (
    "scratchtui serve needs the optional web extra (textual-serve): "
    "pip install 'textual-serve>=1.1,<2' (or, in the project's folder, pip install '.[web]'; "
    "not 'scratchai[web]': the scratchai on PyPI is another project)"
)


def app_command(
    demo: str | None, file: Path | None, seed: int, checkpoint_names: str = "scratchai"
) -> list[str]:
    """The command each browser tab runs: this Python, this package, the same options.

    Args:
        demo: a bundled demo's name, or None when ``file`` is given.
        file: a user's experiment file (made absolute: the app process starts in the
            server's directory, but the path must not depend on it).
        seed: the seed every tab starts from (each tab trains its own copy of the model).
        checkpoint_names: the naming of the checkpoints the ``w`` key writes.
    """
    if demo is not None:
        target = ["demo", demo]
    elif file is not None:
        target = ["run", str(file.resolve())]
    else:
        raise ValueError("app_command needs a demo name or a file")
    options = ["--seed", str(seed)]
    if checkpoint_names != "scratchai":
        options += ["--checkpoint-names", checkpoint_names]
    return [sys.executable, "-m", "scratchtui.cli", *target, *options]


def public_url(host: str, port: int, given: str | None) -> str | None:
    """The address the page tells the browser to open its websocket on.

    textual-serve builds it from ``host``, which for a wildcard bind (``0.0.0.0``) is an
    address no other machine can connect to: use this machine's name instead, unless the user
    named the address the learners type (``--public-url``).
    """
    if given:
        return given.rstrip("/")
    if host in WILDCARD_HOSTS:
        return f"http://{socket.gethostname()}:{port}"
    return None


def serve(
    command: list[str],
    title: str,
    host: str,
    port: int,
    url: str | None,
    errors: Console,
) -> int:
    """Serve ``command`` as a web page until ctrl+c; returns the exit status.

    Args:
        command: the app process of each tab (``app_command``).
        title: shown on the page while the app starts.
        host: interface to bind (127.0.0.1: this machine only).
        port: TCP port to listen on.
        url: the public URL (``public_url``), or None for ``http://host:port``.
        errors: where problems are printed.

    Returns:
        0 after ctrl+c (or SIGTERM), 2 when textual-serve is missing or the port is taken.
    """
    try:
        from textual_serve.server import Server
    except ImportError:
        errors.print(f"[red]error:[/] {escape(INSTALL_HINT)}")
        return 2
    try:  # before any banner: a taken port or a foreign address is said, not served
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socket.create_server((host, port), family=family).close()
    except OSError as error:
        errors.print(f"[red]error:[/] cannot listen on {escape(host)}:{port}: {escape(str(error))}")
        return 2
    server = Server(shlex.join(command), host=host, port=port, title=title, public_url=url)
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print(
            f"[yellow]warning:[/] listening on {escape(host)}: anyone who can reach port "
            f"{port} runs this model file on this machine, with your user's rights"
        )
    try:
        server.serve()
    except OSError as error:  # the port is taken, or the address is not this machine's
        errors.print(f"[red]error:[/] cannot listen on {escape(host)}:{port}: {escape(str(error))}")
        return 2
    except KeyboardInterrupt:  # a ctrl+c before the server's own signal handler is in place
        pass
    return 0
