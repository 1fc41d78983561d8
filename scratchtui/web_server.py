"""textual-serve's server, guarded for a classroom: origin and host checks, a token, a cap on
the terminal size and on the number of tabs, tab processes that end with the server.

``GuardedServer`` subclasses ``textual_serve.server.Server`` (1.1): it keeps its page, its
static files and its protocol, and replaces the routes, the index, the websocket handler, the
shutdown and ``serve``. The rules themselves are in ``web_guard.py``; what a tab's process does
when the server dies is in ``lifeline.py``. Imported only when ``scratchtui serve`` starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import WSMsgType, web
from aiohttp.web_runner import GracefulExit
from rich.markup import escape
from textual_serve.app_service import AppService
from textual_serve.server import Server

from .lifeline import SERVER_PID_VARIABLE
from .web_guard import Gate, clamp_size

log = logging.getLogger("scratchtui.serve")

#: Seconds a tab's app gets to quit when its page closes or the server stops, before it is
#: killed (the whole stop must fit in 3 s).
QUIT_GRACE = 1.5
#: Largest websocket message a page may send (keys and pastes; textual-serve allows 4 MB).
MAX_MESSAGE = 256 * 1024
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",  # no other site may frame the page (clickjacking)
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",  # the token must not leak to the fonts' server
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


def security_headers(frame_ancestors: tuple[str, ...] = ()) -> dict[str, str]:
    """The headers of every answer. ``frame_ancestors``: the origins of pages that may show
    the debugger in a frame (a notebook's, ``--embed-from``); none by default."""
    if not frame_ancestors:
        return dict(SECURITY_HEADERS)
    headers = {k: v for k, v in SECURITY_HEADERS.items() if k != "X-Frame-Options"}
    headers["Content-Security-Policy"] = "frame-ancestors 'self' " + " ".join(frame_ancestors)
    return headers


class TabService(AppService):
    """One tab's app process: started without a shell, told the server's pid (its lifeline
    watches it), sizes clamped, and stopped within QUIT_GRACE."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self.argv = argv

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment[SERVER_PID_VARIABLE] = str(os.getpid())
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        # exec, not a shell: the app is the server's own child, so its parent-death signal
        # and its watchdog see the server itself
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width, height),
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    async def set_terminal_size(self, width: int, height: int) -> None:
        await super().set_terminal_size(*clamp_size(width, height))

    async def stop(self) -> None:
        """Ask the app to quit; kill it if it has not within QUIT_GRACE."""
        task, self._task = self._task, None
        if task is None:
            return
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        await self.send_meta({"type": "quit"})
        done, _ = await asyncio.wait({task}, timeout=QUIT_GRACE)
        if not done:
            self.kill()
            await asyncio.wait({task}, timeout=QUIT_GRACE)

    def kill(self) -> None:
        """End the process now, if it still runs."""
        process = self._process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()


class GuardedServer(Server):
    """Serve ``argv`` (one process per tab) behind a ``Gate``, with at most ``max_tabs`` tabs.

    Args:
        argv: the app command of each tab.
        gate: the host, origin and token rules.
        max_tabs: concurrent tabs; one more is told the server is full.
        title: shown on the page while the app starts.
        page_url: the address printed (with the token).
        report: prints a line for the person who started the server (markup allowed).
        frame_ancestors: origins of the pages that may frame it (``--embed-from``: a
            notebook's); none by default.
    """

    def __init__(
        self,
        argv: list[str],
        gate: Gate,
        max_tabs: int,
        title: str,
        page_url: str,
        report: Callable[[str], None],
        frame_ancestors: tuple[str, ...] = (),
    ) -> None:
        super().__init__(" ".join(argv), host=gate.host, port=gate.port, title=title)
        self.headers = security_headers(frame_ancestors)
        self.argv = argv
        self.gate = gate
        self.max_tabs = max_tabs
        self.page_url = page_url
        self.report = report
        self.tabs: dict[TabService, web.WebSocketResponse] = {}
        self.refusals: Counter[str] = Counter()  # reason -> requests refused for it

    def initialize_logging(self) -> None:
        logging.basicConfig(level="WARNING", format="%(message)s")

    async def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard])
        aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(self.templates_path))
        app.add_routes(
            [
                web.get("/", self.handle_index, name="index"),
                web.get("/ws", self.handle_websocket, name="websocket"),
                web.get("/ws/{token}", self.handle_websocket, name="websocket_token"),
                web.get("/download/{key}", self.handle_download, name="download"),
                web.static("/static", self.statics_path, name="static"),
            ]
        )
        app.on_startup.append(self.on_startup)
        app.on_shutdown.append(self.on_shutdown)
        return app

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Host and Origin rules for every request; the security headers on every answer."""
        reason = self.gate.refuse(request.headers.get("Host"), request.headers.get("Origin"))
        if reason is not None:
            self.refusals[reason] += 1
            count = self.refusals[reason]
            if count in (1, 10, 100, 1000) or count % 10_000 == 0:  # said, never a flood
                times = "" if count == 1 else f" ({count} times)"
                self.report(f"[yellow]refused[/] {escape(request.path)}: {escape(reason)}{times}")
            raise web.HTTPForbidden(text=f"refused: {reason}\n", headers=self.headers)
        response = await handler(request)
        if not response.prepared:
            response.headers.update(self.headers)
        return response

    def _token_refusal(self) -> web.HTTPForbidden:
        return web.HTTPForbidden(
            text="this server needs the token of the address it printed when it started "
            "(http://HOST:PORT/?token=...): ask the person who started it\n",
            headers=self.headers,
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:  # type: ignore[override]
        if not self.gate.token_ok(request.query.get("token")):
            raise self._token_refusal()
        # The websocket goes back where the page came from (or to --public-url): its Origin
        # is then this page's, whatever name the learner typed.
        base = (self.gate.public_url or f"{request.scheme}://{request.host}").rstrip("/")
        scheme = "wss" if base.startswith("https") else "ws"
        path = "/ws" if self.gate.token is None else f"/ws/{self.gate.token}"
        font_size = request.query.get("fontsize", "16")
        context = {
            "font_size": int(font_size) if font_size.isdigit() and len(font_size) < 3 else 16,
            "app_websocket_url": f"{scheme}:{base.split(':', 1)[1]}{path}",
            "config": {"static": {"url": f"{base}/static/"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        if not self.gate.token_ok(request.match_info.get("token")):
            raise self._token_refusal()
        websocket = web.WebSocketResponse(heartbeat=15, max_msg_size=MAX_MESSAGE)
        await websocket.prepare(request)
        if len(self.tabs) >= self.max_tabs:
            self.report(f"[yellow]refused a tab[/]: all {self.max_tabs} tabs are in use")
            await websocket.send_bytes(
                f"\r\n  This server is full: all {self.max_tabs} tabs are in use.\r\n"
                "  Close a tab you do not need, or ask the person who started it to raise "
                "--max-tabs, then reload this page.\r\n".encode()
            )
            await websocket.close()
            return websocket
        width, height = clamp_size(request.query.get("width"), request.query.get("height"))
        tab = TabService(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
        )
        self.tabs[tab] = websocket
        try:
            await tab.start(width, height)
            await self._relay(websocket, tab)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # a broken page or process: this tab ends, not the server
            log.warning("a tab ended: %r", error)
        finally:
            self.tabs.pop(tab, None)
            await tab.stop()
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def _relay(self, websocket: web.WebSocketResponse, tab: TabService) -> None:
        """The page's messages to the app (textual-serve's protocol; sizes clamped)."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                kind, *rest = message.json()
                data = rest[0] if rest else None
            except (ValueError, TypeError):
                continue  # not the page's protocol: ignored, as textual-serve would fail
            if kind == "stdin" and isinstance(data, str):
                await tab.send_bytes(data.encode("utf-8"))
            elif kind == "resize" and isinstance(data, dict):
                await tab.set_terminal_size(data.get("width"), data.get("height"))  # type: ignore[arg-type]
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await tab.blur()
            elif kind == "focus":
                await tab.focus()

    async def on_startup(self, app: web.Application) -> None:
        self.report(f"Serving {escape(self.title)} on [bold]{escape(self.page_url)}[/]")
        self.report(
            f"at most {self.max_tabs} tabs, each at most "
            f"{clamp_size(10**6, 10**6)[0]}x{clamp_size(10**6, 10**6)[1]}; ctrl+c stops the "
            "server and every tab's app"
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Every tab's app is told to quit and killed after QUIT_GRACE; pages are closed."""
        tabs = list(self.tabs.items())
        for tab, _ in tabs:
            if tab.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(tab.pid, signal.SIGTERM)  # the web driver quits on SIGTERM
        await asyncio.gather(*(tab.stop() for tab, _ in tabs), return_exceptions=True)
        for _, websocket in tabs:
            with contextlib.suppress(Exception):
                await websocket.close(code=1001, message=b"server stopped")

    def serve(self, debug: bool = False) -> None:
        """Serve until ctrl+c, SIGTERM or SIGHUP; everything is stopped within 3 s."""
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for number in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if number is not None:
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(number, self.request_exit)
        try:
            web.run_app(
                self._make_app(),
                host=self.host,
                port=self.port,
                handle_signals=False,
                loop=loop,
                print=lambda *args: None,
                shutdown_timeout=QUIT_GRACE,
                access_log=None,
            )
        finally:
            for tab in list(self.tabs):
                tab.kill()

    def request_exit(self) -> None:
        raise GracefulExit()
