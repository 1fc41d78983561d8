"""``scratchtui serve``: the same debugger in a web page, one app process per browser tab.

textual-serve (the optional ``web`` extra) runs a small aiohttp server; each browser tab that
opens the page gets its own ``scratchtui demo NAME`` / ``scratchtui run FILE`` process, driven
through Textual's web driver, and the page draws it with xterm.js. Nothing here imports textual
or textual-serve until the server starts, so the base install stays small.
"""

from __future__ import annotations

import os
import re
import socket
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .web_guard import WILDCARD_HOSTS

INSTALL_HINT = (
    "scratchtui serve needs the optional web extra (textual-serve): "
    "pip install 'textual-serve>=1.1,<2' (or, in the project's folder, pip install '.[web]'; "
    "the distribution is netarchitect-scratchai: 'scratchai' on PyPI is another project)"
)


def app_command(
    demo: str | None,
    file: Path | None,
    seed: int,
    checkpoint_names: str = "scratchai",
    lr: float | None = None,
) -> list[str]:
    """The command each browser tab runs: this Python, this package, the same options.

    Args:
        demo: a bundled demo's name, or None when ``file`` is given.
        file: a user's experiment file (made absolute: the app process starts in the
            server's directory, but the path must not depend on it).
        seed: the seed every tab starts from (each tab trains its own copy of the model).
        checkpoint_names: the naming of the checkpoints the ``w`` key writes.
        lr: ``--lr``, the learning rate every tab starts with (None: the file's).
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
    if lr is not None:
        options += ["--lr", repr(lr)]
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


#: Tabs served at once unless --max-tabs says otherwise: a class of 30 with a few spare
#: (each tab is a process of about 80-100 MiB; see the README's "In a browser").
DEFAULT_MAX_TABS = 40

NO_TOKEN_WARNING = (
    "[bold red]WARNING: --no-token: this server has no token.[/] Any program on this machine "
    "(and, with --host 0.0.0.0, anyone who reaches the port) can open a tab, which runs the "
    "model file with your user's rights. Web pages from other sites are still refused by the "
    "origin check. Use it only on a machine and network you trust."
)


#: The token a parent process chose for the server it starts (the notebook's ``debug``): read
#: once and removed from the environment, so no tab's process inherits it. An environment
#: variable, not an argument: other users see a process's arguments, not its environment.
TOKEN_VARIABLE = "SCRATCHTUI_SERVE_TOKEN"

#: An origin that may frame the page (``--embed-from``): a scheme, a host, maybe a port or
#: ``*`` for any port; nothing that could end the CSP directive (``;``, ``,``, spaces, quotes).
_FRAME_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[A-Za-z0-9.\-\[\]:*]+$")

#: What ``scratchtui.notebook.debug`` lets frame its server by default: a notebook served from
#: this machine, on any port (JupyterLab, Notebook, VS Code's local server).
LOCAL_NOTEBOOK_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*")


def check_frame_origin(origin: str) -> str:
    """``origin`` as given if it may go into ``frame-ancestors``; else ValueError."""
    if not _FRAME_ORIGIN.match(origin):
        raise ValueError(
            f"--embed-from {origin!r}: give an origin such as http://localhost:8888 "
            "(scheme://host[:port], port * for any)"
        )
    return origin.rstrip("/")


def page_address(host: str, port: int, url: str | None, token: str | None) -> str:
    """The address to open, token included (what the server prints)."""
    if url is None:
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    return f"{url}/" + ("" if token is None else f"?token={token}")


def serve(
    command: list[str],
    title: str,
    host: str,
    port: int,
    url: str | None,
    errors: Console,
    *,
    public: str | None = None,
    max_tabs: int = DEFAULT_MAX_TABS,
    token: bool = True,
    frame_ancestors: tuple[str, ...] = (),
) -> int:
    """Serve ``command`` as a web page until ctrl+c; returns the exit status.

    Args:
        command: the app process of each tab (``app_command``).
        title: shown on the page while the app starts.
        host: interface to bind (127.0.0.1: this machine only).
        port: TCP port to listen on.
        url: the address printed for learners (``public_url``), or None for http://host:port.
        errors: where problems are printed.
        public: ``--public-url`` as given (its origin is accepted; the page's websocket goes
            there), or None.
        max_tabs: tabs served at once.
        token: require a random token in the URL (False: ``--no-token``, with a warning);
            the token is ``TOKEN_VARIABLE``'s when the parent process set it, else new.
        frame_ancestors: origins whose pages may show it in a frame (``--embed-from``).

    Returns:
        0 after ctrl+c, SIGTERM or SIGHUP, 2 when textual-serve is missing or the port is taken.
    """
    try:
        from .web_server import GuardedServer
    except ImportError:
        errors.print(f"[red]error:[/] {escape(INSTALL_HINT)}")
        return 2
    try:  # before any banner: a taken port or a foreign address is said, not served
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        socket.create_server((host, port), family=family).close()
    except OSError as error:
        errors.print(f"[red]error:[/] cannot listen on {escape(host)}:{port}: {escape(str(error))}")
        return 2
    from .web_guard import Gate, new_token

    chosen = os.environ.pop(TOKEN_VARIABLE, "") or new_token()
    gate = Gate(host, port, public_url=public, token=chosen if token else None)
    address = page_address(host, port, url, gate.token)
    server = GuardedServer(
        command, gate, max_tabs, title, address, errors.print, frame_ancestors=frame_ancestors
    )
    if host not in ("127.0.0.1", "localhost", "::1"):
        errors.print(
            f"[yellow]warning:[/] listening on {escape(host)}: anyone who can reach port "
            f"{port} and has the address with its token runs this model file on this machine, "
            "with your user's rights"
        )
    if not token:
        errors.print(NO_TOKEN_WARNING)
    try:
        server.serve()
    except OSError as error:  # the port is taken, or the address is not this machine's
        errors.print(f"[red]error:[/] cannot listen on {escape(host)}:{port}: {escape(str(error))}")
        return 2
    except KeyboardInterrupt:  # a ctrl+c before the server's own signal handler is in place
        pass
    return 0
