"""Stepping (n, space, p, l, e), running (r) and what a finished step shows: the panels, why a
run paused and where, a divergence, a failed step's traceback.

A batch, phase or layer pressed while a step runs is queued (``QUEUE_DEPTH`` deep, so holding
``n`` keeps stepping and stops soon after the key is let go) and carried out when the step
is done; the strip shows the queue, ``i`` clears it, and a failure, a breakpoint or a
divergence drops it (the user should look first)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from scratchai.engine import Advance, Granularity, Severity, StepFailed

if TYPE_CHECKING:
    from ..app import ScratchApp

#: Preferred rule, first first, when choosing which module an automatic pause points at.
FOCUS_RULES = ("nonfinite_output", "nonfinite_grad", "nonfinite_loss", "grad_norm")
#: How many steps wait behind the one running (more presses are dropped: a held key repeats).
QUEUE_DEPTH = 3
#: What can wait for a running step: the small steps, not an epoch.
QUEUEABLE = frozenset({Granularity.BATCH, Granularity.PHASE, Granularity.LAYER})
#: The jobs a small step waits behind (the steps; a run, a rewind or a check refuse it).
STEP_JOBS = frozenset(g.name.lower() for g in Granularity)


class StepKeys:
    """Steps and runs in the job thread, and shows what they did.

    Args:
        app: the app whose session it steps.
    """

    def __init__(self, app: ScratchApp) -> None:
        self._app = app
        #: steps pressed while one ran, oldest first
        self.queue: deque[Granularity] = deque()

    def step(self, granularity: Granularity) -> bool:
        """A batch, phase, layer or epoch: milliseconds usually, but the user's code may loop.
        Returns whether the job started (a small step pressed while a step runs waits in the
        queue instead)."""
        app = self._app
        trainer = app.trainer
        if (
            app.running
            and granularity in QUEUEABLE
            and trainer.job in STEP_JOBS
            and not trainer.interrupting
        ):
            if len(self.queue) < QUEUE_DEPTH:
                self.queue.append(granularity)
                self._show_queue()
            return False
        name = granularity.name.lower()
        work = partial(app.session.stepper.advance, granularity)
        started = app.start_job(name, work, self.after_advance, f"stepping one {name}")
        if started and granularity is Granularity.EPOCH:
            app.main.warnings_panel.show_reason(None)
        return started

    def clear_queue(self) -> int:
        """Forget the steps waiting (``i``); returns how many there were."""
        dropped = len(self.queue)
        self.queue.clear()
        self._show_queue()
        return dropped

    def after_job(self, error: BaseException | None, advance: object) -> None:
        """After a job ended: start the next step waiting, unless the job failed, paused on a
        breakpoint or diverged (then the queue is dropped: look first), or the app is quitting."""
        if not self.queue:
            return
        stop = (
            error is not None
            or self._app.return_code is not None
            or (
                isinstance(advance, Advance)
                and (
                    bool(advance.stopped_by)
                    or any(w.severity is Severity.DIVERGED for w in advance.warnings)
                )
            )
        )
        if stop or self._app.running:
            dropped = self.clear_queue()
            if stop and self._app.return_code is None:
                self._app.board.say(f"{dropped} queued step(s) dropped: look at this one first")
            return
        granularity = self.queue.popleft()
        self._show_queue()
        self.step(granularity)

    def _show_queue(self) -> None:
        strip = self._app.main.strip
        strip.queued = tuple(g.name.lower() for g in self.queue)
        strip.refresh_from(self._app.session.stepper)

    def toggle_run(self) -> None:
        """Run until a breakpoint fires, or ask the run to pause after its batch."""
        app, trainer = self._app, self._app.trainer
        if app.running and trainer.job == "run":
            trainer.request_stop()
            app.main.strip.set_mode("pausing")
            return
        run = partial(app.session.stepper.run, should_stop=trainer.should_stop)
        if app.start_job("run", run, self.after_advance, "running"):
            app.main.warnings_panel.show_reason(None)

    def after_advance(self, advance: Advance) -> None:
        """Show what a step, run or travel did (on the UI thread, after the job)."""
        app = self._app
        app.refresh_panels()
        app.main.mark_layer(app.session.stepper.active_path)
        if advance.stopped_by:  # one notice that says why covers the warnings behind it
            self._paused_by_breakpoint(advance)
            return
        # divergence, and a wrong backward (found before the first step): both need acting on
        diverged = [
            f"{w.message}{at(w.target)}"
            for w in advance.warnings
            if w.severity is Severity.DIVERGED or w.rule == "backward_check"
        ]
        if diverged:
            app.board.alert("\n".join(diverged))

    def show_failure(self, error: StepFailed) -> None:
        """A step that raised (or was interrupted): its traceback, kept in the warnings log."""
        app = self._app
        step = app.session.stepper.step
        app.main.error_panel.show_failure(error, step)
        app.main.warnings_panel.add_failure(error, step)  # stays in the log after esc
        app.clear_notifications()  # a toast would cover the traceback: the panel says it all
        app.main.mark_layer(None)
        app.refresh_panels()

    def _paused_by_breakpoint(self, advance: Advance) -> None:
        """Say why the run paused and point at the module responsible."""
        app = self._app
        reason = "; ".join(advance.stopped_by)
        app.main.warnings_panel.show_reason(reason)
        # Only what fired on the step that paused: an older warning would point at a stale place.
        target = focus_target(w for w in advance.warnings if w.step == advance.step)
        app.board.alert(f"{reason}{at(target)}", title="paused")
        if target:
            app.main.point_at(target)


def at(target: str | None) -> str:
    """`` (at 'path')`` for a warning about one module, else nothing."""
    return f" (at '{target}')" if target else ""


def focus_target(warnings: Iterable) -> str | None:
    """The path a pause should point at: the first non-finite module if any, else the first
    diverging warning that names one."""
    named = [w for w in warnings if w.target]
    for rule in FOCUS_RULES:
        for warning in named:
            if warning.rule == rule:
                return warning.target
    return named[0].target if named else None
