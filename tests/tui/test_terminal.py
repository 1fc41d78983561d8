"""One real terminal (a pty), for what Pilot cannot show: keys as bytes from a terminal, the
process's exit and the terminal left behind. The debugger runs a user's file whose forward
never returns; ctrl+c interrupts it, q quits promptly, and the alternate screen and mouse
tracking are switched off again."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNAWAY_MODEL = """
import os
import time

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class Runaway(sa.Module):
    '''Its forward never returns: a pure-Python loop, or a sleep in C (SPIN=sleep).'''

    def forward(self, x):
        if os.environ.get("SPIN") == "sleep":
            time.sleep(3600)
        while True:
            pass

    def backward(self, grad_output):
        return grad_output


def build():
    data = make_clusters(n_samples=64, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, 8), Runaway(), sa.Linear(8, 3))
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name="runaway")
"""
#: CSI, OSC and two-byte escape sequences: what is left is the text on screen.
ESCAPES = re.compile(
    rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b."
)
ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_ON, MOUSE_OFF = b"\x1b[?1000h", b"\x1b[?1000l"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")


class Terminal:
    """``scratchtui`` in a 120x40 pty; ``screen_text`` is everything drawn so far, as text."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scratchtui.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,  # Textual draws on stderr
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.master, 65536)
            except OSError:  # the process is gone and the pty closed
                time.sleep(timeout)

    def screen_text(self) -> str:
        return ESCAPES.sub(b"", bytes(self.output)).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float) -> float:
        """Seconds until ``text`` was drawn (fails after ``timeout``)."""
        start = time.monotonic()
        while text not in self.screen_text():
            if time.monotonic() - start > timeout:
                tail = self.screen_text()[-2000:]
                raise AssertionError(f"{text!r} never appeared; the screen ended with {tail!r}")
            self._read(0.05)
        return time.monotonic() - start

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def wait_exit(self, timeout: float) -> tuple[int, float]:
        """(exit status, seconds it took), reading the output meanwhile."""
        start = time.monotonic()
        while self.process.poll() is None:
            if time.monotonic() - start > timeout:
                raise AssertionError(f"the debugger did not exit within {timeout} s")
            self._read(0.05)
        took = time.monotonic() - start
        for _ in range(5):  # what was still in the pty
            self._read(0.02)
        return self.process.returncode, took

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        os.close(self.master)

    def left_clean(self) -> bool:
        """The last alternate-screen and mouse-tracking switches turned them off."""
        out = bytes(self.output)
        return out.rfind(ALT_SCREEN_OFF) > out.rfind(ALT_SCREEN_ON) >= 0 and out.rfind(
            MOUSE_OFF
        ) > out.rfind(MOUSE_ON)


@pytest.fixture
def terminal(tmp_path: Path):
    """``terminal(spin="loop")`` -> the debugger on the runaway model, in a pty."""
    model = tmp_path / "runaway.py"
    model.write_text(textwrap.dedent(RUNAWAY_MODEL))
    opened: list[Terminal] = []

    def start(spin: str = "loop") -> Terminal:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
        env.update(TERM="xterm-256color", SPIN=spin, PYTHONPATH=str(ROOT))
        term = Terminal(["run", str(model)], env)
        opened.append(term)
        return term

    yield start
    for term in opened:
        term.close()


def test_ctrl_c_interrupts_a_runaway_step_and_q_quits(terminal):
    term = terminal()
    term.wait_for("paused", 30)
    term.send(b"n")
    term.wait_for("> batch", 10)
    term.wait_for("i interrupts", 10)
    term.send(b"\x03")  # ctrl+c, as the terminal sends it
    term.wait_for("interrupted", 10)
    term.wait_for("back at step 0", 10)
    term.send(b"q")
    status, took = term.wait_exit(10)
    print(f"q after an interrupted runaway step: exit {status} in {took:.2f} s")
    assert status == 0 and took < 3, (status, took)
    assert term.left_clean()


def test_q_during_a_step_stuck_in_c_exits_within_the_bounded_wait(terminal):
    """A sleep in C cannot be interrupted: quitting waits 2 s for it, then leaves (130)."""
    term = terminal(spin="sleep")
    term.wait_for("paused", 30)
    term.send(b"n")
    term.wait_for("> batch", 10)
    term.send(b"q")
    status, took = term.wait_exit(10)
    print(f"q during a step stuck in C: exit {status} in {took:.2f} s")
    assert status == 130 and took < 4, (status, took)
    assert term.left_clean()
    assert "exiting without it" in term.screen_text()
