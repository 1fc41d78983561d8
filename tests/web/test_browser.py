"""``scratchtui serve`` in a real browser: headless Chromium opens the page, the debugger draws,
three presses of ``n`` train three batches, a second tab gets its own app, and ctrl+c stops
the server and the tabs' apps. A page from another origin that knows the token still cannot
open a tab.

Bounded in time: every wait has a deadline and the whole test a hard timeout. The server
listens on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="the web extra (textual-serve) is not installed")
pytest.importorskip("aiohttp", reason="aiohttp (installed with textual-serve) is missing")

from cdp_client import Browser, find_chromium, open_page

CHROMIUM = find_chromium()
SERVE = [sys.executable, "-m", "scratchtui.cli", "serve", "demo", "mlp"]
TEST_TIMEOUT = 120.0  # seconds for the whole browser session, start to ctrl+c

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium on PATH: install Debian's package (apt-get install chromium); "
    ".ci/run installs it when apt-get exists",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def printed_token(log: Path, timeout: float = 10.0) -> str:
    """The token of the address the server printed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"\?token=([\w-]+)", log.read_text(errors="replace"))
        if found:
            return found[1]
        time.sleep(0.1)
    raise AssertionError(f"no token in the server's output: {log.read_text()}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """``scratchtui serve demo mlp`` on 127.0.0.1 in its own process group (the server and
    every tab's app process); whatever is left of the group is killed at the end."""
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [*SERVE, "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,  # checkpoints, if any, land here
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process, timeout=30)
        yield process, port
    finally:
        if group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()


async def wait_for_text(browser: Browser, pattern: str, timeout: float) -> str:
    """Poll the page's terminal until ``pattern`` (a regex) shows; returns the screen."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = await browser.screen_text()
        if re.search(pattern, text):
            return text
        await asyncio.sleep(0.2)
    if not text:
        raise AssertionError(
            f"the page's terminal could not be read within {timeout:.0f} s: the app did not "
            "start, or textual-serve's page script changed (cdp_client.py finds its xterm.js "
            "terminal through the closure of window.onresize)"
        )
    raise AssertionError(f"{pattern!r} did not show within {timeout:.0f} s; the screen:\n{text}")


async def drive(port: int, token: str, shot: Path, process: subprocess.Popen) -> str:
    assert CHROMIUM is not None
    page = f"http://127.0.0.1:{port}/?token={token}"
    async with open_page(CHROMIUM, page) as browser:
        await wait_for_text(browser, r"\bstep 0\b", timeout=60)  # the app process started
        await browser.focus_terminal()
        try:
            for step in (1, 2, 3):
                await browser.press("n")
                screen = await wait_for_text(browser, rf"\bstep {step}\b", timeout=20)
        finally:
            await browser.screenshot(shot)
        # A second tab is a second app process: it starts at step 0, the first stays at 3.
        second = await browser.connection.open_tab(page)
        await wait_for_text(second, r"\bstep 0\b", timeout=60)
        assert re.search(r"\bstep 3\b", await browser.screen_text())
        # ctrl+c with a tab still connected: the server and the tab's app both stop
        process.send_signal(signal.SIGINT)
        return screen


def test_served_debugger_trains_three_batches_in_chromium(
    server: tuple[subprocess.Popen, int], tmp_path: Path
) -> None:
    process, port = server
    shot = tmp_path / "page.png"
    started = time.monotonic()
    token = printed_token(tmp_path / "server.log")
    screen = asyncio.run(asyncio.wait_for(drive(port, token, shot, process), TEST_TIMEOUT))
    assert re.search(r"\bstep 3\b", screen) and "ScratchAI - mlp" in screen
    assert shot.stat().st_size > 10_000  # a drawn page, not a blank one
    assert process.wait(timeout=20) == 0, (tmp_path / "server.log").read_text()
    deadline = time.monotonic() + 15
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)  # the tab's app process is told to quit and exits
    assert not group_alive(process.pid), "an app process outlived the server"
    print(f"browser session: {time.monotonic() - started:.1f} s")


#: A page on another origin that knows the server's address and token, as a malicious site
#: opened in the learner's (or the teacher's) browser would: it tries to open a tab and press
#: keys in it. ``window.verdict`` records what the browser let it do.
FOREIGN_PAGE = """<!doctype html><html><body><script>
window.verdict = "pending";
const ws = new WebSocket("WS_URL?width=80&height=24");
ws.binaryType = "arraybuffer";
ws.onopen = () => { window.verdict = "open"; ws.send(JSON.stringify(["stdin", "nw"])); };
ws.onmessage = () => { window.verdict = "drawn"; };
ws.onerror = () => { if (window.verdict === "pending") window.verdict = "refused"; };
ws.onclose = () => { if (window.verdict === "pending") window.verdict = "refused"; };
</script></body></html>"""


async def foreign_origin(port: int, token: str) -> str:
    """Serve FOREIGN_PAGE from another origin (another port), open it in Chromium, and
    return its verdict."""
    from aiohttp import web

    assert CHROMIUM is not None
    html = FOREIGN_PAGE.replace("WS_URL", f"ws://127.0.0.1:{port}/ws/{token}")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    runner = web.AppRunner(app)
    await runner.setup()
    other = free_port()
    site = web.TCPSite(runner, "127.0.0.1", other)
    await site.start()
    try:
        async with open_page(CHROMIUM, f"http://127.0.0.1:{other}/") as browser:
            deadline = time.monotonic() + 20
            verdict = "pending"
            while verdict == "pending" and time.monotonic() < deadline:
                verdict = await browser.evaluate("window.verdict") or "pending"
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # had it opened, the app would start and draw meanwhile
            return str(await browser.evaluate("window.verdict"))
    finally:
        await runner.cleanup()


def test_a_page_from_another_origin_cannot_open_a_tab(
    server: tuple[subprocess.Popen, int], tmp_path: Path
) -> None:
    process, port = server
    token = printed_token(tmp_path / "server.log")
    verdict = asyncio.run(asyncio.wait_for(foreign_origin(port, token), TEST_TIMEOUT))
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert verdict == "refused", f"the foreign page got {verdict!r}; server log:\n{log}"
    assert "cross-origin" in log  # the server said why
    assert not list(tmp_path.glob("checkpoints/*"))  # its n and w never reached an app
    assert group_alive(process.pid) and process.poll() is None  # still serving
