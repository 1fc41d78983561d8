"""While the user's code runs a step in the debugger, ``os._exit`` raises instead of ending
the process.

``os._exit`` skips every ``finally`` and the driver's clean-up: the terminal would be left in
the alternate screen with mouse tracking on. Inside ``os_exit_guarded()`` it raises
``OsExitCalled`` (a ``SystemExit``), which the engine reports as a failed step ("the code
called os._exit(3)") and undoes. A forked child (multiprocessing) still exits as asked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

#: The real ``os._exit``, for the one place that must end the process without waiting.
REAL_OS_EXIT = os._exit


class OsExitCalled(SystemExit):
    """The user's code called ``os._exit(code)`` while a step ran in the debugger."""

    called = "os._exit"  # how the engine's failure summary names the call


@contextmanager
def os_exit_guarded() -> Iterator[None]:
    """``os._exit`` raises ``OsExitCalled`` in this process until the block ends."""
    owner = os.getpid()

    def guarded(status: int) -> NoReturn:  # os._exit's own parameter name
        if os.getpid() != owner:  # a forked child of the user's code: let it exit
            REAL_OS_EXIT(status)
        raise OsExitCalled(status)

    previous, os._exit = os._exit, guarded
    try:
        yield
    finally:
        os._exit = previous
