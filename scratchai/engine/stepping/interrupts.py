"""Stopping a step that runs in another thread: between two modules if it can, inside one if
it must.

``request()`` sets a flag that the stepper's module hooks read at every module boundary: the
step stops there with ``Interrupted`` and is undone like a failed one. Only code that never
reaches a boundary (a runaway loop inside one module's forward) is stopped the hard way, after
a short grace time: ``Interrupted`` is raised asynchronously in the step's thread (CPython's
``PyThreadState_SetAsyncExc``). This file is the one place that does so; it sends it only
while the step runs the user's code (``in_user_code``), never while the engine saves or
records, and drops one sent too late.
"""

from __future__ import annotations

import ctypes
import threading

#: Seconds between an interrupt request and the hard stop of code that reached no boundary.
GRACE_SECONDS = 0.3
_RECHECK_SECONDS = 0.05


class Interrupted(KeyboardInterrupt):
    """Raised inside a step that was asked to stop (``i``, ctrl+c, ``Stepper.interrupt()``).

    A ``KeyboardInterrupt``, so that the user's ``except Exception`` does not swallow it and
    whoever stops on a ctrl+c stops on it; but the engine tells it from a ``KeyboardInterrupt``
    that the user's code raised itself (a failed step, not an interrupt).
    """


class Interrupts:
    """The interrupt state of the steps that one thread at a time runs.

    Attributes:
        requested: an interrupt was asked for the step in progress (read at module boundaries).
        in_user_code: the step runs the user's code now (set by the stepper around it).
    """

    def __init__(self, grace: float = GRACE_SECONDS) -> None:
        self.grace = grace
        self.requested = False
        self.in_user_code = False
        self._thread: int | None = None  # the thread inside a step, or None
        self._sent = False  # an asynchronous Interrupted was sent to it
        self._timer: threading.Timer | None = None
        # reentrant: a ctrl+c handler (headless) may call request() between any two lines
        self._lock = threading.RLock()

    def check(self) -> None:
        """Stop here if an interrupt was asked for (called between modules)."""
        if self.requested:
            raise Interrupted

    def enter(self) -> None:
        """The calling thread starts (or resumes) a step. A request still standing (it came
        after the last boundary of the step before) stops this one at its first boundary."""
        with self._lock:
            self._thread = threading.get_ident()
            self._sent = False
            if self.requested and self._timer is None:
                self._arm(self.grace)

    def clear(self) -> None:
        """Forget a standing request: a new move begins (``advance``, ``run``), or the step it
        stopped is being undone."""
        with self._lock:
            self.requested = False
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def leave(self) -> None:
        """The step is over: no interrupt reaches the thread after this returns (one sent that
        has not landed yet is dropped; one that lands while leaving is absorbed)."""
        while True:
            try:
                self._close()
                return
            except Interrupted:
                continue  # the hard stop landed here, on its way out: it has nothing to stop

    def _close(self) -> None:
        with self._lock:
            ident, self._thread = self._thread, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._sent and ident is not None:
                _set_async_exc(ident, None)
                self._sent = False

    def request(self) -> bool:
        """Ask the step in progress to stop. Returns False when no step is running."""
        with self._lock:
            if self._thread is None:
                return False
            if not self.requested:
                self.requested = True
                self._arm(self.grace)
            return True

    def _arm(self, seconds: float) -> None:
        self._timer = threading.Timer(seconds, self._stop_hard)
        self._timer.name = "scratchai-interrupt"
        self._timer.daemon = True
        self._timer.start()

    def _stop_hard(self) -> None:
        """The grace time is over and the step still runs: raise inside it, but only in the
        user's code (the engine's own work between two modules is short: look again soon)."""
        with self._lock:
            if self._thread is None or self._sent or self._timer is None:
                return
            if self.in_user_code:
                self._sent = _set_async_exc(self._thread, Interrupted)
            else:
                self._arm(_RECHECK_SECONDS)


def _set_async_exc(ident: int, exc_type: type[BaseException] | None) -> bool:
    """Raise ``exc_type`` in thread ``ident`` at its next Python instruction (a long NumPy call
    finishes first); None drops one that has not landed yet. Returns whether it was set."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc_type) if exc_type else None
    )
    return done == 1
