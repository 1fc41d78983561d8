"""SIGTERM and SIGHUP end the debugger the way ``q`` does: a running step is interrupted, the
app exits through Textual's driver (which restores the terminal: cooked mode, echo, the main
screen, mouse tracking off, the cursor shown) and the exit status names the signal, as a shell
would: 143 for SIGTERM (128 + 15), 129 for SIGHUP (128 + 1).

Textual's terminal driver installs no handler for either: a SIGTERM ended the process at once
with the terminal left raw, in the alternate screen, mouse tracking on and the cursor hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

#: The signals that end the app cleanly (those the platform has).
QUIT_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@dataclass
class Received:
    """The signal that asked the app to quit, if any."""

    number: int | None = None

    @property
    def exit_status(self) -> int | None:
        """128 + the signal's number, or None when no signal came."""
        return None if self.number is None else 128 + self.number


@contextlib.contextmanager
def quit_on_signals(app: Any) -> Iterator[Received]:
    """While the block runs ``app`` (a Textual App with a ``quit`` action), SIGTERM and SIGHUP
    run that action on the app's event loop. The previous handlers come back afterwards.

    Yields:
        what was received; ``exit_status`` is the status to end with.
    """
    received = Received()

    def handler(number: int, frame: FrameType | None) -> None:
        received.number = number
        try:  # Python runs this handler in the main thread, inside the app's event loop
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the app has not started, or has stopped: nothing to restore
            raise SystemExit(128 + number) from None
        loop.call_soon_threadsafe(lambda: asyncio.ensure_future(app.run_action("quit")))

    previous = {number: signal.signal(number, handler) for number in QUIT_SIGNALS}
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
