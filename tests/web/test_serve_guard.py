"""``scratchtui serve`` as a notebook server: the rules (host, origin, token, sizes) as plain
functions, then a real server: 403 without the token or from another origin, a capped
terminal and tab count, and tab processes that end with the server however it ends."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("textual_serve", reason="the web extra (textual-serve) is not installed")
pytest.importorskip("aiohttp", reason="aiohttp (installed with textual-serve) is missing")

import aiohttp
from serve_process import Served, alive, children, first_frame, serving, wait_until

from scratchtui.lifeline import hold_on_to_server, server_gone
from scratchtui.web_guard import MAX_COLUMNS, MAX_ROWS, Gate, clamp_size, new_token

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads the tab processes from /proc"
)

# ---------------------------------------------------------------- the rules


def test_a_loopback_server_answers_only_to_its_own_names_and_origins() -> None:
    gate = Gate("127.0.0.1", 8000, token="t")
    for host in ("127.0.0.1:8000", "localhost:8000", "LOCALHOST:8000", "[::1]:8000"):
        assert gate.refuse(host, None) is None
        assert gate.refuse(host, f"http://{host.lower()}") is None
    assert gate.refuse("127.0.0.1:8000", "http://localhost:8000") is None  # both this server
    assert "DNS rebinding" in str(gate.refuse("evil.example:8000", "http://evil.example:8000"))
    assert "cross-origin" in str(gate.refuse("127.0.0.1:8000", "http://evil.example"))
    assert "cross-origin" in str(gate.refuse("127.0.0.1:8000", "http://127.0.0.1:9999"))
    assert "cross-origin" in str(gate.refuse("127.0.0.1:8000", "null"))  # a sandboxed frame
    assert gate.refuse(None, None) == "no Host header"


def test_a_wildcard_bind_takes_any_name_but_only_same_origin_pages() -> None:
    gate = Gate("0.0.0.0", 8000, public_url="https://lesson.example", token="t")
    assert gate.refuse("teacher-laptop:8000", None) is None
    assert gate.refuse("10.0.0.5:8000", "http://10.0.0.5:8000") is None
    assert gate.refuse("10.0.0.5:8000", "https://lesson.example") is None  # --public-url's
    assert gate.refuse("lesson.example", "https://lesson.example") is None  # behind a proxy
    assert "cross-origin" in str(gate.refuse("10.0.0.5:8000", "http://evil.example"))
    assert "cross-origin" in str(gate.refuse("10.0.0.5:8000", "http://teacher-laptop:8000"))


def test_a_loopback_server_behind_a_proxy_takes_the_public_name() -> None:
    gate = Gate("127.0.0.1", 8000, public_url="https://lesson.example", token="t")
    assert gate.refuse("lesson.example", "https://lesson.example") is None  # no port passed
    assert gate.refuse("lesson.example:443", "https://lesson.example") is None
    assert gate.refuse("127.0.0.1:8000", "https://lesson.example") is None
    assert "DNS rebinding" in str(gate.refuse("other.example", "https://lesson.example"))
    assert "cross-origin" in str(gate.refuse("lesson.example", "https://evil.example"))


def test_tokens_are_random_and_compared_whole() -> None:
    token = new_token()
    assert len(token) >= 40 and token != new_token()
    gate = Gate("127.0.0.1", 8000, token=token)
    assert gate.token_ok(token)
    assert not gate.token_ok(None) and not gate.token_ok("") and not gate.token_ok(token[:-1])
    assert Gate("127.0.0.1", 8000, token=None).token_ok(None)  # --no-token


def test_terminal_sizes_are_clamped() -> None:
    assert clamp_size(10_000, 10_000) == (MAX_COLUMNS, MAX_ROWS) == (400, 150)
    assert clamp_size("120", "40") == (120, 40)
    assert clamp_size(-5, 0) == (20, 5)
    assert clamp_size("junk", None) == (80, 24)


# ---------------------------------------------------------------- a real server


async def _status(url: str, **headers: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as response:
        return response.status


async def _ws_status(url: str, origin: str | None) -> int:
    """101 if the websocket opened (then closed at once), else the refusal's status."""
    async with aiohttp.ClientSession() as http:
        try:
            async with http.ws_connect(url, origin=origin) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as error:
            return error.status


@linux_only
def test_without_the_token_or_from_another_origin_nothing_starts(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        assert served.token and served.token in served.output()
        own = f"http://127.0.0.1:{served.port}"

        async def probe() -> None:
            assert await _status(f"{served.base}/") == 403
            assert await _status(f"{served.base}/?token=wrong") == 403
            assert await _status(f"{served.base}/?token={served.token}") == 200
            rebound = {"Host": f"evil.example:{served.port}"}
            assert await _status(f"{served.base}/?token={served.token}", **rebound) == 403
            assert await _ws_status(f"{served.ws[: -len(served.token)]}wrong", own) == 403
            assert await _ws_status(served.ws.rsplit("/", 1)[0], own) == 403  # /ws, no token
            assert await _ws_status(served.ws, "http://evil.example") == 403
            assert await _ws_status(served.ws, f"http://127.0.0.1:{served.port + 1}") == 403

        asyncio.run(probe())
        time.sleep(0.5)
        assert children(served.process.pid) == set()  # no tab process was started
        assert "cross-origin" in served.output()


@linux_only
def test_no_token_is_loud_and_still_refuses_other_origins(tmp_path: Path) -> None:
    with serving(tmp_path, "--no-token") as served:
        assert "WARNING: --no-token" in served.output()

        async def probe() -> None:
            assert await _status(f"{served.base}/") == 200
            assert await _ws_status(served.ws, "http://evil.example") == 403

        asyncio.run(probe())


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@linux_only
def test_a_huge_terminal_is_clamped_and_tabs_are_capped(tmp_path: Path) -> None:
    with serving(tmp_path, "--max-tabs", "1") as served:
        origin = f"http://127.0.0.1:{served.port}"

        async def drive() -> tuple[int, int, bytes]:
            async with aiohttp.ClientSession() as http:
                url = f"{served.ws}?width=10000&height=10000"
                async with http.ws_connect(url, origin=origin, max_msg_size=0) as ws:
                    first = await first_frame(ws)
                    (tab,) = children(served.process.pid)
                    env = _environ(tab)
                    assert (env["COLUMNS"], env["ROWS"]) == ("400", "150")
                    async with http.ws_connect(served.ws, origin=origin) as second:
                        message = await second.receive(timeout=10)
                        assert b"all 1 tabs are in use" in message.data
                        assert (await second.receive(timeout=10)).type in (
                            aiohttp.WSMsgType.CLOSE,
                            aiohttp.WSMsgType.CLOSED,
                        )
                    assert len(children(served.process.pid)) == 1  # none started for it
                    await ws.send_json(["resize", {"width": 3000, "height": 3000}])
                    resized = b""
                    end = time.monotonic() + 3
                    while time.monotonic() < end:
                        try:
                            message = await ws.receive(timeout=end - time.monotonic())
                        except asyncio.TimeoutError:
                            break
                        if message.type == aiohttp.WSMsgType.BINARY:
                            resized += message.data
                    return len(first), len(resized), first

        first, resized, _ = asyncio.run(drive())
        # a 400x150 screen is at most a few hundred kB (the 10000x10000 one was 103 MB)
        assert first < 2_000_000 and resized < 2_000_000, (first, resized)


async def _open_tabs(served: Served, count: int) -> list:
    """``count`` tabs that have drawn; their sessions and sockets stay open."""
    origin = f"http://127.0.0.1:{served.port}"
    opened = []
    for _ in range(count):
        http = aiohttp.ClientSession()
        ws = await http.ws_connect(served.ws, origin=origin, max_msg_size=0)
        opened.append((http, ws))
    await asyncio.gather(*(first_frame(ws, timeout=90) for _, ws in opened))
    return opened


async def _close(opened: list) -> None:
    for http, ws in opened:
        await ws.close()
        await http.close()


@linux_only
@pytest.mark.parametrize("how", ["SIGKILL", "SIGHUP"])
def test_tab_processes_end_when_the_server_dies(tmp_path: Path, how: str) -> None:
    with serving(tmp_path) as served:

        async def scenario() -> float:
            opened = await _open_tabs(served, 2)
            try:
                tabs = children(served.process.pid)
                assert len(tabs) == 2
                os.kill(served.process.pid, getattr(signal, how))  # only the server
                return await asyncio.to_thread(
                    wait_until, lambda: not any(alive(t) for t in tabs), 5.0
                )
            finally:
                await _close(opened)

        took = asyncio.run(scenario())
        served.process.wait(timeout=5)
        assert took < 3.0, f"the tabs outlived the server by {took:.1f} s"
        print(f"{how}: the tabs ended {took:.2f} s after the server")


@linux_only
def test_ctrl_c_stops_the_server_and_five_tabs_within_3_s(tmp_path: Path) -> None:
    with serving(tmp_path) as served:

        async def scenario() -> tuple[float, set[int]]:
            opened = await _open_tabs(served, 5)
            try:
                tabs = children(served.process.pid)
                assert len(tabs) == 5
                started = time.monotonic()
                os.killpg(served.process.pid, signal.SIGINT)  # what a terminal's ctrl+c does
                await asyncio.to_thread(
                    wait_until,
                    lambda: served.process.poll() is not None and not any(map(alive, tabs)),
                    10.0,
                )
                return time.monotonic() - started, tabs
            finally:
                await _close(opened)

        took, _ = asyncio.run(scenario())
        assert served.process.returncode == 0, served.output()
        assert took < 3.0, f"ctrl+c took {took:.1f} s"
        print(f"ctrl+c with 5 tabs: everything ended in {took:.2f} s")


@pytest.mark.skipif(not hasattr(select, "poll"), reason="no poll() here")
def test_the_watchdog_sees_the_pipe_hang_up_and_the_parent_change() -> None:
    read, write = os.pipe()
    try:
        poller = select.poll()
        poller.register(read, 0)
        assert not server_gone(os.getppid(), poller)
        os.write(write, b"keys")  # data is not a hang-up
        assert not server_gone(os.getppid(), poller)
        os.close(write)
        write = -1
        assert server_gone(os.getppid(), poller)
    finally:
        os.close(read)
        if write >= 0:
            os.close(write)
    assert server_gone(os.getppid() + 1, None)  # the parent is not the server any more
    assert hold_on_to_server() is False  # outside a served tab: nothing is set up


@linux_only
def test_a_flood_of_refused_requests_is_reported_a_few_times(tmp_path: Path) -> None:
    with serving(tmp_path) as served:

        async def flood() -> None:
            for _ in range(30):
                status = await _status(f"{served.base}/", Host=f"evil.example:{served.port}")
                assert status == 403

        asyncio.run(flood())
        time.sleep(0.3)
        lines = [line for line in served.output().splitlines() if "DNS rebinding" in line]
        assert len(lines) == 2 and "(10 times)" in lines[1], lines  # the 1st and the 10th
