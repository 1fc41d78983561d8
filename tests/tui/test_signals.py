"""SIGTERM and SIGHUP to the debugger in a real terminal (a pty): the app quits as ``q`` does,
the terminal is left usable (cooked mode with echo, the main screen, no mouse tracking, the
cursor shown) and the exit status names the signal: 143 for SIGTERM, 129 for SIGHUP."""

from __future__ import annotations

import os
import signal
import sys
import termios

import pytest
from test_terminal import ROOT, Terminal, terminal  # noqa: F401  # the fixture, reused

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty and POSIX signals")

CURSOR_HIDDEN, CURSOR_SHOWN = b"\x1b[?25l", b"\x1b[?25h"


def _cooked(term: Terminal) -> bool:
    """The pty is back in canonical mode with echo (what a shell needs)."""
    lflag = termios.tcgetattr(term.master)[3]
    return bool(lflag & termios.ICANON) and bool(lflag & termios.ECHO)


def _demo() -> Terminal:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTUAL")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))
    return Terminal(["demo", "mlp"], env)


@pytest.mark.parametrize(("name", "status"), [("SIGTERM", 143), ("SIGHUP", 129)])
def test_a_signal_restores_the_terminal_and_names_itself_in_the_status(
    name: str, status: int
) -> None:
    term = _demo()
    try:
        term.wait_for("paused", 30)
        assert not _cooked(term)  # the app runs the terminal raw
        os.kill(term.process.pid, getattr(signal, name))
        got, took = term.wait_exit(10)
        print(f"{name}: exit {got} in {took:.2f} s")
        assert got == status and took < 3, (got, took)
        assert term.left_clean() and _cooked(term)
        out = bytes(term.output)
        assert out.rfind(CURSOR_SHOWN) > out.rfind(CURSOR_HIDDEN)
    finally:
        term.close()


def test_sigterm_during_a_runaway_step_interrupts_it_and_exits_143(terminal) -> None:  # noqa: F811
    term = terminal()
    term.wait_for("paused", 30)
    term.send(b"n")
    term.wait_for("> batch", 10)
    os.kill(term.process.pid, signal.SIGTERM)
    got, took = term.wait_exit(10)
    print(f"SIGTERM during a runaway step: exit {got} in {took:.2f} s")
    assert got == 143 and took < 3, (got, took)
    assert term.left_clean() and _cooked(term)
