"""The keys that move a run in time: rewind one step (b), jump to step N (j), restart (0).

Whatever replays or trains runs in the app's job thread (``start_job``), like a run: the
screen stays live and the job thread's guards cover it. Presses of b that come while a rewind
replays add up and are carried out when it is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scratchai.engine import Advance, State

from ..messages import Notice, TrainingStopped
from ..screens.prompt import Field, PromptScreen, parse_step

if TYPE_CHECKING:
    from ..app import ScratchApp


class TravelKeys:
    """Rewinds, jumps and restarts in the job thread.

    Args:
        app: the app whose session travels.
    """

    def __init__(self, app: ScratchApp) -> None:
        self._app = app
        self._rewinding = False  # the job thread replays a rewind (b)
        self._back_pending = 0  # presses of b while it does

    def _travel(self, move: Callable[[], Advance], done: str, job: str = "travel") -> bool:
        """Run ``move`` in the job thread (it replays or trains: the user's code), then say
        ``done`` (``{step}`` filled in)."""
        app = self._app

        def travel() -> Advance:
            advance = move()
            app.post_message(Notice(done.format(step=advance.step)))  # thread-safe
            return advance

        started = app.start_job(
            job, travel, app.controls.steps.after_advance, "going to another step"
        )
        if started:  # the step a run paused at is left behind, and why it paused with it
            app.main.warnings_panel.show_reason(None)
        return started

    def go_back(self, steps: int) -> None:
        """Rewind ``steps`` (a batch in progress counts as one) in the worker. Presses that
        come while it replays add up and are carried out when it is done."""
        app = self._app
        if app.running and self._rewinding:
            self._back_pending += steps
            return
        if app.refuse_while_running("rewinding"):
            return
        stepper = app.session.stepper
        depth = stepper.travel.depth
        if depth == 0:
            app.board.say(
                "nothing left to rewind: this is step 0"
                if stepper.settings.rewind
                else "rewind is off (Settings(rewind=False))",
                severity="warning",
            )
            return
        steps = min(steps, depth)
        target = stepper.step - steps + (1 if stepper.mid_batch else 0)
        self._rewinding = self._travel(
            lambda: stepper.travel.goto(target), "rewound to step {step}", job="rewind"
        )

    def after_job(self, message: TrainingStopped) -> None:
        """After the app handled the end of a job: carry out the presses of b that came while
        a rewind replayed, and say when a run paused on weights that had diverged already."""
        app = self._app
        self._rewinding = False
        advance, stepper = message.advance, app.session.stepper
        if (
            isinstance(advance, Advance)
            and advance.stopped_by
            and len(advance.steps) == 1
            and not advance.warnings
            and stepper.state is State.DIVERGED
        ):
            # Not stale: the step's gradient comes from weights that had diverged already
            # (a rewind to a diverged step, then e or r); say so, and what helps.
            app.board.alert(
                f"{'; '.join(advance.stopped_by)}\nthis held at step {advance.step - 1} already: "
                "its weights had diverged, so a lower lr alone does not help from there; go "
                "further back (j or b), then lower the lr",
                title="paused: still diverged",
            )
        pending, self._back_pending = self._back_pending, 0
        if pending and not app.running and stepper.travel.depth:
            self.go_back(pending)

    def _can_go_back(self) -> bool:
        if not self._app.session.stepper.settings.rewind:
            self._app.board.say("rewind is off (Settings(rewind=False))", severity="warning")
            return False
        return True

    def goto(self) -> None:
        """Ask for a step, then go there: back replays, forward trains. The field offers the
        step a warning's rewind remedy names (the highlighted warning's, else the newest
        one's), else the current step."""
        app = self._app
        if app.refuse_while_running("going to another step"):
            return

        def go(values: dict[str, Any] | None) -> None:
            if values is None or app.refuse_while_running("going to another step"):
                return
            target, stepper = values["step"], app.session.stepper
            if target > stepper.step:
                # forward: a run that stops at the target (or a breakpoint, or r)
                more = target - stepper.step
                self._travel(
                    lambda: stepper.run(max_steps=more, should_stop=app.trainer.should_stop),
                    "trained to step {step}",
                )
            elif self._can_go_back():
                self._travel(
                    lambda: stepper.travel.goto(target), "went back to step {step} (replayed)"
                )

        step = app.session.stepper.step
        advised = app.main.warnings_panel.advised_step(step)
        note = (
            f"now at step {step}. Back: the checkpoint before it is restored and "
            "replayed, bit for bit. Forward: trains (a breakpoint or r stops it)."
        )
        if advised is not None:  # the advice of the warning highlighted (or the newest)
            note = f"step {advised}: where the warning's remedy says to rewind; {note}"
        # the field's text starts selected (PromptScreen): typing a number replaces it
        field = Field("step", "go to step", str(step if advised is None else advised), parse_step)
        app.push_screen(PromptScreen("Go to step", [field], note), go)

    def restart(self) -> None:
        """Back to step 0 with the initial weights (replayed like a rewind)."""
        app = self._app
        if app.refuse_while_running("restarting") or not self._can_go_back():
            return
        stepper = app.session.stepper
        if stepper.step == 0 and not stepper.mid_batch:
            app.board.say("already at step 0")
            return
        self._travel(
            stepper.travel.restart, "restarted: step {step}, the initial weights, same seed"
        )
