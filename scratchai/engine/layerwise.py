"""Run one pass (a forward or a backward) so that it can stop after each module, like a debugger.

A pass is ordinary nested Python calls (``Sequential.forward`` calls each child), so it cannot
be suspended with a generator. It runs instead in a helper thread that blocks in a module hook
after every leaf module until the stepper asks for the next one; only one of the two threads
runs at any time, so the model is never touched concurrently.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..module import Module
from .failures import clear_pending_interrupt, raise_in_thread
from .model_index import ModelIndex


class _Cancelled(BaseException):
    """Raised inside the pass thread to abandon a pass (rewind, or the stepper closed)."""


class PausablePass:
    """Runs ``fn()`` in a thread that pauses after each layer (leaf module) of the model.

    ``resume()`` lets it run to the next pause and returns ``(module, args)`` of that pause, or
    None when the pass finished; then ``result()`` returns the value of ``fn()`` or raises
    what it raised.
    """

    def __init__(self, fn: Callable[[], Any], direction: str, index: ModelIndex) -> None:
        self._fn = fn
        self._direction = direction
        self._index = index
        self._go = threading.Semaphore(0)
        self._paused = threading.Semaphore(0)
        self._event: tuple[Module, tuple] | None = None
        self._done = False
        self._cancelled = False
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"scratchai-{direction}", daemon=True
        )
        self._started = False
        self._waiting = False  # parked in the hook, between two modules
        self._in_fn = False  # inside fn (the user's code, or parked in the hook)
        self._ident: int | None = None
        # Held while the two flags above change and while an interrupt is sent: an interrupt
        # lands only inside fn, where the pass catches it (never in its clean-up, which would
        # leave the stepper waiting for a pass that never says it is done).
        self._state = threading.Lock()

    def _hook(self, module: Module, *args: Any) -> None:
        if threading.current_thread() is not self._thread:
            return
        if not self._index.is_layer(module):
            return  # only layers of the model are steps; containers and the loss are not
        self._event = (module, args)
        with self._state:
            self._waiting = True
        self._paused.release()
        self._go.acquire()  # resume() cleared _waiting before releasing it
        if self._cancelled:
            raise _Cancelled

    def _run(self) -> None:
        handles = []
        try:
            self._go.acquire()
            forward = self._direction == "forward"
            handles = self._index.hook(
                forward=self._hook if forward else None, backward=None if forward else self._hook
            )
            if not self._cancelled:
                try:
                    with self._state:
                        self._in_fn = True  # from here on an interrupt may be sent here
                    with np.errstate(all="ignore"):  # NumPy error state is per thread
                        self._result = self._fn()
                finally:
                    with self._state:
                        self._in_fn = False
                        if self._ident is not None:
                            clear_pending_interrupt(self._ident)  # too late: the pass is over
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the stepper's thread in result()
            self._error = exc
        finally:
            for handle in handles:
                handle.remove()
            self._done = True
            self._event = None
            self._paused.release()

    @property
    def done(self) -> bool:
        return self._done

    def interrupt(self, stepper_thread: int) -> bool:
        """Raise ``KeyboardInterrupt`` where the user's code runs now: in the pass thread if it
        runs it (not parked, not starting or ending), else in ``stepper_thread`` (the thread
        that steps). Returns whether it was sent.

        Never while the stepper's thread starts the pass thread: CPython gives the new thread
        its parent's ident until it runs, so the exception could land in the new thread before
        its first line, which would then never say it is done.
        """
        with self._state:
            if self._in_fn and not self._waiting and self._ident is not None:
                return raise_in_thread(self._ident, KeyboardInterrupt)
            return raise_in_thread(stepper_thread, KeyboardInterrupt)

    def resume(self) -> tuple[Module, tuple] | None:
        """Run to the next leaf module (returns it and the hook's args) or to the end (None)."""
        if self._done:
            return None
        with self._state:
            if not self._started:
                self._started = True
                self._thread.start()
                self._ident = self._thread.ident
            self._waiting = False  # before the release: from now on the pass thread runs user code
        self._go.release()
        while not self._paused.acquire(timeout=0.1):
            if not self._thread.is_alive():  # it died outside its try: it will not say so
                if not self._done:
                    self._error, self._done = KeyboardInterrupt(), True
                break
        return None if self._done else self._event

    def result(self) -> Any:
        while not self._done:
            self.resume()
        if self._error is not None:
            raise self._error
        return self._result

    def cancel(self) -> None:
        """Abandon the pass; the thread unwinds at its next pause (or, if it has not started
        its work yet, as soon as it does)."""
        if self._started and not self._done:
            self._cancelled = True
            self._go.release()
            # an interrupt that landed inside Thread.start() leaves a thread never started
            with contextlib.suppress(RuntimeError):
                self._thread.join(timeout=5)
        self._done = True
