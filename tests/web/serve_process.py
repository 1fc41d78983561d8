"""``scratchtui serve`` as a real process for the tests: start it on a free port, read the
token from the address it prints, open tabs over its websocket, list its tab processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

SERVE = [sys.executable, "-m", "scratchtui.cli", "serve", "demo", "mlp"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (Linux /proc)."""
    found: set[int] = set()
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with (
                contextlib.suppress(FileNotFoundError),
                open(f"/proc/{pid}/task/{task}/children") as f,
            ):
                found |= {int(p) for p in f.read().split()}
    return {p for p in found if alive(p)}


def wait_until(condition, timeout: float, step: float = 0.05) -> float:
    """Seconds until ``condition()`` held; raises TimeoutError after ``timeout``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not within {timeout} s")
        time.sleep(step)
    return time.monotonic() - started


@dataclass
class Served:
    process: subprocess.Popen
    port: int
    token: str | None
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        path = "/ws" if self.token is None else f"/ws/{self.token}"
        return f"ws://127.0.0.1:{self.port}{path}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serving(tmp_path: Path, *options: str, timeout: float = 30.0) -> Iterator[Served]:
    """The server in its own session (its tabs inherit it); killed with them at the end."""
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*SERVE, "--host", "127.0.0.1", "--port", str(port), *options],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        token: str | None = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()}")
            found = re.search(r"Serving .* on (\S+)", log.read_text(errors="replace"))
            if found:
                token_match = re.search(r"\?token=([\w-]+)", found[1])
                token = token_match[1] if token_match else None
                break
            time.sleep(0.1)
        else:
            raise TimeoutError(f"the server did not start: {log.read_text()}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), 5).close()
        yield Served(process, port, token, log)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


async def first_frame(ws: aiohttp.ClientWebSocketResponse, timeout: float = 60.0) -> bytes:
    """The app's bytes until it has drawn something (its first binary messages)."""
    received = b""
    deadline = time.monotonic() + timeout
    while len(received) < 2000:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the tab drew {len(received)} bytes in {timeout} s")
        message = await ws.receive(timeout=remaining)
        if message.type == aiohttp.WSMsgType.BINARY:
            received += message.data
        elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            break
    return received
