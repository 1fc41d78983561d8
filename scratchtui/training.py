"""The one thread that runs the user's code: every step, run, epoch and rewind is a job here.

The UI thread never calls into the user's model: a key starts a job (``start``) and the thread
posts ``TrainingStopped`` when it is done (``post_message`` is thread-safe); the app then
handles the result on the UI thread. Only one job exists at a time: ``running`` stays True
until the app handled the end of the last one. While a job runs, the thread holds the stepper's
lock; the UI thread only reads the stepper's records and talks to the thread through this
object: ``request_stop`` (a run checks it between batches), ``interrupt`` (the user's code
stops at the next module boundary, or after a grace time wherever it is, and the step is
undone), ``defer`` (work the thread does between
batches, e.g. an lr change). The thread is a daemon with ``os._exit`` guarded
(``guard.py``): a step that never returns cannot keep the process alive or the terminal dirty.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from textual.app import App

from scratchai.engine import Stepper
from scratchai.engine.stepping.interrupts import Interrupts

from .guard import os_exit_guarded
from .messages import TrainingStopped

#: Jobs that run the user's code outside the stepper's steps (an interrupt goes to the thread).
OUTSIDE_STEPS = frozenset({"reload", "check", "checklist", "modes"})

#: A job's result handler, called on the UI thread with what the job returned.
Then = Callable[[object], None]


class Trainer:
    """Starts, interrupts and waits for the one job thread of an app.

    Args:
        app: the app that receives ``TrainingStopped``.
        stepper: the engine the jobs drive (``interrupt`` reaches into its step).
    """

    def __init__(self, app: App, stepper: Stepper) -> None:
        self._app = app
        self._stepper = stepper
        #: True from ``start`` until the app handled ``TrainingStopped``
        self.running = False
        #: what the job does, for people ("batch", "run", "rewind"...); "" when none runs
        self.job = ""
        #: when it started (``time.monotonic``)
        self.started = 0.0
        #: the user asked to interrupt it
        self.interrupting = False
        self._then: Then | None = None
        self._stop = threading.Event()
        # set while no thread touches the stepper (the thread's last act is to set it)
        self._idle = threading.Event()
        self._idle.set()
        # Work for the thread (lr changes while a job runs): applied between batches by the
        # thread itself, which already holds the stepper's lock.
        self._pending: deque[Callable[[], None]] = deque()
        self._thread: threading.Thread | None = None
        # The jobs outside the stepper's steps run the user's code too (a reload builds the
        # model, a check runs it): they are interrupted the way a step is, from the engine.
        self._outside = Interrupts()

    @property
    def elapsed(self) -> float:
        """Seconds since the job started."""
        return time.monotonic() - self.started if self.running else 0.0

    def start(self, job: str, work: Callable[[], object], then: Then) -> None:
        """Call ``work()`` in the job thread; ``then(result)`` runs on the UI thread after it
        returned (a failure goes to the app's ``on_training_stopped`` instead)."""
        if self.running:
            raise RuntimeError(f"a job is running already ({self.job})")
        self.running, self.job, self.started = True, job, time.monotonic()
        self.interrupting = False
        self._then = then
        self._stop.clear()
        self._idle.clear()
        self._thread = threading.Thread(
            target=self._work, args=(work, job), name=f"scratchtui-{job}", daemon=True
        )
        self._thread.start()

    def use(self, stepper: Stepper) -> None:
        """Drive ``stepper`` from now on (the model file was reloaded); no job runs."""
        self._stepper = stepper

    def should_stop(self) -> bool:
        """Called by a run between batches (holding the stepper's lock)."""
        self._run_pending()
        return self._stop.is_set()

    def request_stop(self) -> None:
        """Ask a run to stop after its batch (an epoch trains to its end)."""
        self._stop.set()

    def interrupt(self) -> bool:
        """Stop the job now: a run stops, and the step in progress is undone. Returns whether
        the user's code was reached (False: the job was between steps, or already told)."""
        self._stop.set()
        self.interrupting = self.running
        if self._stepper.interrupt():
            return True
        return self._outside.request()  # False unless a job outside the steps runs

    def stopped(self) -> Then | None:
        """The app is handling ``TrainingStopped``: returns the job's result handler, and keys
        that need the stepper work again."""
        then, self._then = self._then, None
        self.running, self.job, self.interrupting = False, "", False
        self._run_pending()  # deferred just after the thread's last look: the UI's now
        return then

    def defer(self, change: Callable[[], None]) -> None:
        """Have the job thread call ``change`` between batches (it holds the stepper)."""
        self._pending.append(change)

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until no thread runs a job; True if none does."""
        return self._idle.wait(timeout)

    def stop_within(self, seconds: float) -> bool:
        """Stop the job, interrupting it until it returns, for at most ``seconds`` (quitting).
        True if no job runs any more."""
        self._stop.set()
        deadline = time.monotonic() + seconds
        while not self._idle.wait(0.05):
            if time.monotonic() > deadline:
                return False
            self.interrupt()  # a step's at most once (the engine's rule), or the job's
        return True

    def _run_pending(self) -> None:
        while self._pending:
            self._pending.popleft()()

    def _work(self, work: Callable[[], object], job: str) -> None:
        """The thread: run the job, then tell the UI thread with a (thread-safe) message.

        Everything is caught, ``BaseException`` included: an interrupt that lands between two
        steps, or a bug, must reach the app as a message, never end the thread silently.
        """
        result: object = None
        error: BaseException | None = None
        try:
            with os_exit_guarded():
                outside = job in OUTSIDE_STEPS
                if outside:
                    self._outside.enter()
                    self._outside.in_user_code = True  # nothing of the engine's to protect
                try:
                    result = work()
                finally:
                    if outside:
                        self._outside.leave()  # from here on no interrupt reaches the thread
        except BaseException as exc:  # StepFailed, a late interrupt, or a bug
            error = exc
        try:
            self._run_pending()  # lr changes that arrived after the last batch
        except BaseException as exc:
            error = error or exc
        finally:
            self._idle.set()
            self._app.post_message(TrainingStopped(result, error, job))
