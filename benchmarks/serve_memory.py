"""What ``scratchtui serve`` tabs cost: one tab's memory at 80x24 and at the size cap, what a
tab asking for 10000x10000 gets, and N tabs at once (Linux: reads /proc).

Starts ``scratchtui serve demo mlp`` on a free port, opens tabs over its websocket as a browser
would (the right Origin, the printed token), waits for each tab's first frame, presses ``n``
five times in each, then reads every tab process's resident (RSS) and proportional (PSS: shared
pages split between the processes that share them) memory.

    python benchmarks/serve_memory.py             # the single tabs, then 20 at once
    python benchmarks/serve_memory.py --tabs 40
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp


def _kib(pid: int, path: str, field: str) -> int:
    with open(f"/proc/{pid}/{path}") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))


def memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of a process in MiB."""
    return _kib(pid, "status", "VmRSS:") / 1024, _kib(pid, "smaps_rollup", "Pss:") / 1024


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(p) for p in f.read().split()]
    return found


@contextlib.contextmanager
def server(folder: Path, max_tabs: int):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scratchtui.cli",
                "serve",
                "demo",
                "mlp",
                "--port",
                str(port),
                "--max-tabs",
                str(max_tabs),
            ],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"\?token=([\w-]+)", log.read_text())):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(log.read_text())
            time.sleep(0.1)
        yield process, port, found[1]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(10)


async def open_tab(http: aiohttp.ClientSession, port: int, token: str, size: tuple[int, int]):
    """A tab that has drawn and trained five batches; (websocket, bytes of its first frame)."""
    url = f"ws://127.0.0.1:{port}/ws/{token}?width={size[0]}&height={size[1]}"
    ws = await http.ws_connect(url, origin=f"http://127.0.0.1:{port}", max_msg_size=0)
    first = b""
    while len(first) < 2000:  # the first frame: the app started and drew its screen
        message = await ws.receive(timeout=120)
        if message.type != aiohttp.WSMsgType.BINARY:
            raise RuntimeError(f"the tab closed: {message}")
        first += message.data
    with contextlib.suppress(asyncio.TimeoutError):
        while True:  # the rest of the first screen, until it has been quiet for a second
            message = await ws.receive(timeout=1.0)
            if message.type != aiohttp.WSMsgType.BINARY:
                raise RuntimeError(f"the tab closed: {message}")
            first += message.data
    for _ in range(5):
        await ws.send_json(["stdin", "n"])
    await asyncio.sleep(0.5)
    return ws, len(first)


async def single(port: int, token: str, process: subprocess.Popen) -> None:
    print("| tab asks for | gets | first frame | RSS | PSS |")
    print("|---|---|---:|---:|---:|")
    async with aiohttp.ClientSession() as http:
        for size in ((80, 24), (120, 40), (400, 150), (10_000, 10_000)):
            ws, first = await open_tab(http, port, token, size)
            await asyncio.sleep(2)
            (tab,) = children(process.pid)
            with open(f"/proc/{tab}/environ", "rb") as f:
                env = dict(x.split(b"=", 1) for x in f.read().split(b"\0") if b"=" in x)
            rss, pss = memory(tab)
            got = f"{env[b'COLUMNS'].decode()}x{env[b'ROWS'].decode()}"
            print(
                f"| {size[0]}x{size[1]} | {got} | {first / 1024:.0f} KiB | {rss:.0f} MiB "
                f"| {pss:.0f} MiB |"
            )
            await ws.close()
            while children(process.pid):
                await asyncio.sleep(0.1)


async def many(port: int, token: str, process: subprocess.Popen, n: int) -> None:
    started = time.monotonic()
    async with aiohttp.ClientSession() as http:
        tabs = await asyncio.gather(*(open_tab(http, port, token, (120, 40)) for _ in range(n)))
        took = time.monotonic() - started
        await asyncio.sleep(2)
        pids = children(process.pid)
        figures = [memory(pid) for pid in pids]
        server_rss, server_pss = memory(process.pid)
        rss = [r for r, _ in figures]
        pss = [p for _, p in figures]
        print(f"\n{len(pids)} tabs at 120x40, all drawn in {took:.1f} s (2 shared cores):")
        print(
            f"- per tab: RSS median {statistics.median(rss):.0f} MiB "
            f"(range {min(rss):.0f}-{max(rss):.0f}), PSS median {statistics.median(pss):.0f} MiB"
        )
        print(
            f"- all tabs and the server: PSS {sum(pss) + server_pss:.0f} MiB "
            f"(RSS summed {sum(rss) + server_rss:.0f} MiB; the server alone {server_rss:.0f})"
        )
        for ws, _ in tabs:
            await ws.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tabs", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scratchtui-serve-") as tmp:
        with server(Path(tmp), max_tabs=max(args.tabs, 1)) as (process, port, token):
            asyncio.run(single(port, token, process))
        with server(Path(tmp), max_tabs=max(args.tabs, 1)) as (process, port, token):
            asyncio.run(many(port, token, process, args.tabs))


if __name__ == "__main__":
    main()
