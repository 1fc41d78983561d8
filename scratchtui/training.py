"""The training thread: a run (or an epoch) trains in a Textual thread worker.

While it trains, the thread holds the stepper's lock; the UI thread only reads the stepper's
records and talks to the thread through this object: ``request_stop`` (checked between
batches), ``defer`` (work the thread does between batches, e.g. an lr change) and the
``TrainingStopped`` message the thread posts when it is done (``post_message`` is thread-safe).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from textual.app import App

from scratchai.engine import Advance

from .messages import TrainingStopped


class Trainer:
    """Starts, stops and waits for the one training thread of an app.

    Args:
        app: the app that runs the worker and receives ``TrainingStopped``.
    """

    def __init__(self, app: App) -> None:
        self._app = app
        #: True from ``start`` until the app handled ``TrainingStopped``
        self.running = False
        self._stop = threading.Event()
        # set while no thread touches the stepper (the thread's last act is to set it)
        self._idle = threading.Event()
        self._idle.set()
        # Work for the training thread (lr changes while running): applied between batches by
        # the thread itself, which already holds the stepper's lock.
        self._pending: deque[Callable[[], None]] = deque()

    def start(self, train: Callable[[], Advance]) -> None:
        """Call ``train()`` in a thread worker; ``TrainingStopped`` says how it ended."""
        self.running = True
        self._stop.clear()
        self._idle.clear()
        self._app.run_worker(
            lambda: self._train_in_thread(train),
            name="training",
            group="training",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def should_stop(self) -> bool:
        """Called by the training thread between batches (holding the stepper's lock)."""
        self._run_pending()
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask the thread to stop after its batch (a run; an epoch trains to its end)."""
        self._stop.set()

    def stopped(self) -> None:
        """The app handled ``TrainingStopped``: keys that need the stepper work again."""
        self.running = False

    def defer(self, change: Callable[[], None]) -> None:
        """Have the training thread call ``change`` between batches (it holds the stepper)."""
        self._pending.append(change)

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until no thread trains; True if none does."""
        return self._idle.wait(timeout)

    def _run_pending(self) -> None:
        while self._pending:
            self._pending.popleft()()

    def _train_in_thread(self, train: Callable[[], Advance]) -> None:
        """The worker: train, then tell the UI thread with a (thread-safe) message."""
        try:
            try:
                advance = train()
            except Exception as error:  # StepFailed, or a bug: either way the app must go on
                self._app.post_message(TrainingStopped(None, error))
                return
            self._run_pending()  # lr changes that arrived after the last batch
            self._app.post_message(TrainingStopped(advance, None))
        finally:
            self._idle.set()
