"""The debugger in a Jupyter notebook, and the flow picture as a cell's output.

``debug("my_model.py")`` (or ``debug(demo="mlp")``) starts ``scratchtui serve`` for that file
on a free port of this machine, in a process of its own, and returns an IFrame that shows it in
the cell: the same debugger, one app per time the frame loads. The server is guarded as
``scratchtui serve`` always is (a random token in the frame's address, the Host and Origin
checks); the notebook's page is allowed to frame it (``--embed-from``, by default any notebook
served from this machine). It stops with the kernel, or with ``stop()``.

``flow(...)`` trains one batch and returns the ``--flow`` picture: HTML in a cell, the boxes
in a terminal. ``sa.summarize(...)`` and a model's tree show as HTML by themselves
(``_repr_html_``).

Needs the ``web`` extra (textual-serve) for ``debug``; IPython only for the IFrame it returns.
"""

from __future__ import annotations

import atexit
import importlib.util
import io
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console, RenderableType

from scratchai.engine import Experiment, Stepper, load_demo, load_experiment_file
from scratchai.engine.timeline.randomness import seed_everything

from .flow_render import render_flow
from .lifeline import SERVER_PID_VARIABLE
from .serve import LOCAL_NOTEBOOK_ORIGINS, TOKEN_VARIABLE, check_frame_origin
from .web_guard import new_token

#: What to do when the web extra is missing (the notebook's error says it).
WEB_EXTRA_HINT = (
    "scratchtui.notebook.debug serves the debugger with textual-serve, the optional web "
    "extra: in the project's folder, pip install '.[web]' (the distribution is "
    "netarchitect-scratchai), or pip install 'textual-serve>=1.1,<2'; then restart the kernel"
)
#: Seconds the server may take to listen before ``debug`` gives up (it loads the model first).
START_TIMEOUT = 60.0


class WebExtraMissing(ImportError):
    """The ``web`` extra (textual-serve) is not installed."""


@dataclass
class NotebookServer:
    """One ``scratchtui serve`` process started by ``debug``.

    Attributes:
        url: the page's address, token included (what the IFrame shows).
        process: the server's process.
    """

    url: str
    process: subprocess.Popen[bytes]
    log: Path = field(repr=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server and its tabs' apps (SIGTERM, then SIGKILL after ``timeout``)."""
        if self.process.poll() is None:
            self.process.terminate()  # the server stops its tabs' apps, then exits
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        if self.process.stdin is not None:
            self.process.stdin.close()
        _SERVERS.discard(self)
        self.log.unlink(missing_ok=True)

    def __hash__(self) -> int:
        return id(self)

    @property
    def running(self) -> bool:
        return self.process.poll() is None


#: The servers started by this kernel: all stopped when it exits.
_SERVERS: set[NotebookServer] = set()


def stop_all() -> None:
    """Stop every server ``debug`` started in this process."""
    for server in list(_SERVERS):
        server.stop()


atexit.register(stop_all)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the system's choice)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _target(file: str | Path | None, demo: str | None) -> list[str]:
    if (file is None) == (demo is None):
        raise ValueError("debug() takes a model file or demo=NAME (one of the two)")
    if demo is not None:
        return ["demo", demo]
    path = Path(file).expanduser().resolve()  # type: ignore[arg-type]
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return [str(path)]


def serve_in_background(
    file: str | Path | None = None,
    *,
    demo: str | None = None,
    seed: int = 0,
    lr: float | None = None,
    port: int | None = None,
    embed_from: tuple[str, ...] = LOCAL_NOTEBOOK_ORIGINS,
) -> NotebookServer:
    """Start ``scratchtui serve`` for ``file`` (or ``demo``) on 127.0.0.1 and wait until it
    listens; returns the running server (its ``url`` carries the token).

    Raises:
        WebExtraMissing: textual-serve is not installed.
        RuntimeError: the server exited (a broken model file: its error) or did not listen.
    """
    if importlib.util.find_spec("textual_serve") is None:
        raise WebExtraMissing(WEB_EXTRA_HINT)
    origins = tuple(check_frame_origin(origin) for origin in embed_from)
    host, port = "127.0.0.1", port or free_port()
    token = new_token()
    argv = [sys.executable, "-m", "scratchtui.cli", "serve", *_target(file, demo)]
    argv += ["--host", host, "--port", str(port), "--seed", str(seed)]
    argv += [option for origin in origins for option in ("--embed-from", origin)]
    if lr is not None:
        argv += ["--lr", repr(lr)]
    log = Path(_log_name(port))
    with log.open("wb") as out:  # the server's lines (a refused request, an error) go here
        # The server ends with this kernel however it ends (lifeline.py, as a tab ends with
        # its server): its parent's pid, and a pipe that hangs up when the kernel is gone.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, TOKEN_VARIABLE: token, SERVER_PID_VARIABLE: str(os.getpid())},
            start_new_session=True,  # a ctrl+c (interrupt) of the kernel does not reach it
        )
    server = NotebookServer(f"http://{host}:{port}/?token={quote(token)}", process, log)
    _SERVERS.add(server)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_text(errors="replace").strip()
            server.stop()
            raise RuntimeError(f"scratchtui serve exited ({process.returncode}):\n{said}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"scratchtui serve did not listen on {host}:{port} in {START_TIMEOUT} s")


def _log_name(port: int) -> str:
    import tempfile

    return os.path.join(tempfile.gettempdir(), f"scratchtui-notebook-{os.getpid()}-{port}.log")


def debug(
    file: str | Path | None = None,
    *,
    demo: str | None = None,
    seed: int = 0,
    lr: float | None = None,
    width: str | int = "100%",
    height: int = 640,
    port: int | None = None,
    embed_from: tuple[str, ...] = LOCAL_NOTEBOOK_ORIGINS,
) -> Any:
    """The debugger for ``file`` (or ``demo="mlp"``) in this cell: an ``IPython.display.IFrame``.

    Args:
        file: your model file (a ``build()`` returning an Experiment).
        demo: a bundled demo's name instead.
        seed: for init, dropout and shuffling.
        lr: start from this learning rate instead of the file's.
        width, height: the frame's size in the cell.
        port: the port to serve on (default: a free one).
        embed_from: the origins of notebook pages allowed to show it (default: a notebook
            served from this machine, any port; add yours for a remote Jupyter).

    Returns:
        The IFrame (display it: the last line of a cell). ``frame.server.stop()`` stops the
        server; it stops with the kernel anyway.

    Raises:
        WebExtraMissing: the ``web`` extra is missing (its message says what to install).
    """
    server = serve_in_background(
        file, demo=demo, seed=seed, lr=lr, port=port, embed_from=embed_from
    )
    try:
        from IPython.display import IFrame
    except ImportError:  # not in IPython: the address is still useful
        server.stop()
        raise ImportError("debug() returns an IFrame for a notebook: IPython is needed") from None
    frame = IFrame(server.url, width=width, height=height)
    frame.server = server  # type: ignore[attr-defined]
    return frame


class FlowPicture:
    """The ``--flow`` picture of one batch: HTML in a notebook cell, boxes in a terminal.

    Attributes:
        renderable: the Rich renderable (``rich.print(picture)`` draws it too).
    """

    def __init__(self, renderable: RenderableType, width: int = 100) -> None:
        self.renderable = renderable
        self.width = width

    def _console(self) -> Console:
        return Console(
            record=True,
            width=self.width,
            file=io.StringIO(),
            force_terminal=True,
            color_system="truecolor",
        )

    def __rich__(self) -> RenderableType:
        return self.renderable

    def __str__(self) -> str:
        console = self._console()
        console.print(self.renderable)
        return console.export_text()

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        console = self._console()
        console.print(self.renderable)
        return console.export_html(inline_styles=True, code_format=_HTML_FORMAT)


#: Rich's HTML export, without a page around it: a cell holds a fragment.
_HTML_FORMAT = (
    "<pre style=\"font-family:Menlo,'DejaVu Sans Mono',consolas,monospace;"
    'line-height:1.2;font-size:13px">{code}</pre>'
)


def flow(
    file: str | Path | None = None,
    *,
    demo: str | None = None,
    experiment: Experiment | None = None,
    seed: int = 0,
    width: int = 100,
) -> FlowPicture:
    """Train one batch of ``file`` (or ``demo``, or an ``experiment`` you built) and return
    its flow picture, as ``scratchtui run FILE --flow`` prints it.

    Raises:
        StepFailed: the step raised (the traceback names your line).
    """
    if experiment is None:
        seed_everything(seed)
        experiment = load_demo(demo) if demo is not None else load_experiment_file(Path(file))  # type: ignore[arg-type]
    with Stepper(experiment) as stepper:
        stepper.advance()
        return FlowPicture(render_flow(stepper.views.flow()), width)
