"""The notebook's IFrame in a real browser: a page served from ``http://localhost:PORT`` (as
Jupyter serves a notebook) frames ``scratchtui.notebook.debug``'s address, and headless
Chromium loads the debugger inside it: the page's websocket passes the Origin and token checks
and a tab's app starts (a child of the server). Served without ``embed_from``, the same frame
is refused by the browser (``frame-ancestors``) and no app starts.

Bounded: every wait has a deadline; both servers listen on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="the web extra (textual-serve) is not installed")
pytest.importorskip("aiohttp", reason="aiohttp (installed with textual-serve) is missing")

from cdp_client import find_chromium, open_page

from scratchtui.notebook import serve_in_background
from scratchtui.serve import LOCAL_NOTEBOOK_ORIGINS

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH")


@contextmanager
def notebook_page(folder: Path, frame_url: str) -> Iterator[str]:
    """Serve a page that frames ``frame_url``, from http://localhost:PORT; yield its URL."""
    (folder / "index.html").write_text(
        f'<html><body><h3>a notebook</h3><iframe src="{frame_url}" width="1000" '
        'height="560"></iframe></body></html>'
    )

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://localhost:{httpd.server_address[1]}/index.html"
        finally:
            httpd.shutdown()
            thread.join(5)


def children(pid: int) -> list[int]:
    """The server's child processes: one app per tab (Linux's /proc)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


async def tabs_started(url: str, server_pid: int, wait: float) -> bool:
    async with open_page(CHROMIUM, url):  # type: ignore[arg-type]
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if children(server_pid):
                return True
            await asyncio.sleep(0.2)
    return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
@pytest.mark.parametrize("framed", [True, False])
def test_a_local_notebook_page_frames_the_debugger_and_no_other(tmp_path, framed):
    origins = LOCAL_NOTEBOOK_ORIGINS if framed else ()
    server = serve_in_background(demo="mlp", embed_from=origins)
    try:
        with notebook_page(tmp_path, server.url) as page:
            started = asyncio.run(tabs_started(page, server.process.pid, 30 if framed else 8))
        log = server.log.read_text()
        assert started is framed, log
        assert "refused" not in log  # the browser refuses the frame; the server never sees it
    finally:
        server.stop()
    assert not server.running
