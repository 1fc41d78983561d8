"""The keys that move a run in time or rebuild it, and the ones that save what is on screen.

A part of ``ScratchApp`` (a base class; the rows are in ``actions.ACTIONS``): jump to step N
(j), restart, reload the model file, type an exact lr, change the checkpoint interval and
rewind budget, the train/eval view, a screenshot and an export of the history. Whatever runs
the user's code (replaying or training steps, re-importing the file) goes through the app's
job thread (``start_job``), like a run: the screen stays live and the worker's
guards cover it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from scratchai.engine import Advance, Granularity, State, Stepper, reload_experiment_file
from scratchai.engine.timeline.randomness import seed_everything
from scratchai.file_names import safe_stem

from .messages import Notice
from .screens.modes import ModesScreen
from .screens.prompt import (
    Field,
    PromptScreen,
    parse_budget,
    parse_interval,
    parse_positive,
    parse_step,
)
from .widgets.format import num

if TYPE_CHECKING:
    from .messages import TrainingStopped
    from .notices import NoticeBoard
    from .screens.main import MainScreen
    from .training import Trainer

#: Where ``s`` saves screenshots (relative to the current directory).
SCREENSHOT_DIR = Path("screenshots")


class Reloaded(Message):
    """Posted by the worker that rebuilt the model file: the app swaps ``stepper`` in."""

    def __init__(self, stepper: Stepper, file_lr: float, note: str) -> None:
        super().__init__()
        self.stepper = stepper
        self.file_lr = file_lr
        self.note = note


class ReloadFailed(Message):
    """Posted by the worker when the edited file does not build: the old model stays."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


def idle_advance(stepper: Stepper) -> Advance:
    """An ``Advance`` that did nothing: where ``stepper`` stands (for the worker's report)."""
    return Advance(Granularity.BATCH, stepper.state, stepper.step, stepper.epoch, stepper.batch)


class TravelKeys(App[None]):
    """Time travel, reload, exact settings, train/eval, screenshot and export keys (a base of
    ``ScratchApp``, which provides what is declared under ``TYPE_CHECKING``)."""

    if TYPE_CHECKING:
        stepper: Stepper
        main: MainScreen
        board: NoticeBoard
        trainer: Trainer

        @property
        def running(self) -> bool: ...
        def _refuse_while_running(self, what: str) -> bool: ...
        def start_job(
            self, job: str, work: Callable[[], object], then: Callable, what: str
        ) -> bool: ...
        def _after_advance(self, advance: Advance) -> None: ...

    #: the model file a reload re-imports (``scratchtui run FILE``), else None
    experiment_file: Path | None = None
    #: the seed the model was built with (a reload builds it with the same)
    seed: int = 0
    #: the lr the model file set (an lr the user set in the app survives a reload)
    file_lr: float = 0.0
    _rewinding = False  # the worker replays a rewind (b)
    _back_pending = 0  # presses of b while it does

    # ------------------------------------------------------------------ time travel
    def _travel(self, move: Callable[[], Advance], done: str, job: str = "travel") -> bool:
        """Run ``move`` in the job thread (it replays or trains: the user's code), then say
        ``done`` (``{step}`` filled in)."""

        def travel() -> Advance:
            advance = move()
            self.post_message(Notice(done.format(step=advance.step)))  # thread-safe
            return advance

        started = self.start_job(job, travel, self._after_advance, "going to another step")
        if started:  # the step a run paused at is left behind, and why it paused with it
            self.main.warnings_panel.show_reason(None)
        return started

    def _go_back(self, steps: int) -> None:
        """Rewind ``steps`` (a batch in progress counts as one) in the worker. Presses that
        come while it replays add up and are carried out when it is done."""
        if self.running and self._rewinding:
            self._back_pending += steps
            return
        if self._refuse_while_running("rewinding"):
            return
        stepper = self.stepper
        depth = stepper.travel.depth
        if depth == 0:
            self.board.say(
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

    def on_training_stopped(self, message: TrainingStopped) -> None:
        """After the app's own handler (Textual calls each class's): carry out the presses
        of b that came while a rewind replayed."""
        self._rewinding = False
        advance = message.advance
        if (
            isinstance(advance, Advance)
            and advance.stopped_by
            and len(advance.steps) == 1
            and not advance.warnings
            and self.stepper.state is State.DIVERGED
        ):
            # Not stale: the step's gradient comes from weights that had diverged already
            # (a rewind to a diverged step, then e or r); say so, and what helps.
            self.board.alert(
                f"{'; '.join(advance.stopped_by)}\nthis held at step {advance.step - 1} already: "
                "its weights had diverged, so a lower lr alone does not help from there; go "
                "further back (j or b), then lower the lr",
                title="paused: still diverged",
            )
        pending, self._back_pending = self._back_pending, 0
        if pending and not self.running and self.stepper.travel.depth:
            self._go_back(pending)

    def _can_go_back(self) -> bool:
        if not self.stepper.settings.rewind:
            self.board.say("rewind is off (Settings(rewind=False))", severity="warning")
            return False
        return True

    def action_goto(self) -> None:
        if self._refuse_while_running("going to another step"):
            return

        def go(values: dict[str, Any] | None) -> None:
            if values is None or self._refuse_while_running("going to another step"):
                return
            target, stepper = values["step"], self.stepper
            if target > stepper.step:
                # forward: a run that stops at the target (or a breakpoint, or r)
                more = target - stepper.step
                self._travel(
                    lambda: stepper.run(max_steps=more, should_stop=self.trainer.should_stop),
                    "trained to step {step}",
                )
            elif self._can_go_back():
                self._travel(
                    lambda: stepper.travel.goto(target), "went back to step {step} (replayed)"
                )

        note = (
            f"now at step {self.stepper.step}. Back: the checkpoint before it is restored and "
            "replayed, bit for bit. Forward: trains (a breakpoint or r stops it)."
        )
        field = Field("step", "go to step", str(self.stepper.step), parse_step)
        self.push_screen(PromptScreen("Go to step", [field], note), go)

    def action_restart(self) -> None:
        if self._refuse_while_running("restarting") or not self._can_go_back():
            return
        if self.stepper.step == 0 and not self.stepper.mid_batch:
            self.board.say("already at step 0")
            return
        stepper = self.stepper
        self._travel(
            stepper.travel.restart, "restarted: step {step}, the initial weights, same seed"
        )

    # ------------------------------------------------------------------ reload
    def action_reload(self) -> None:
        path = self.experiment_file
        if path is None:
            self.board.say(
                "reload works on a model file: scratchtui run FILE (a demo does not change)",
                severity="warning",
            )
            return
        if self._refuse_while_running("reloading"):
            return
        old, seed = self.stepper, self.seed
        # An lr set in the app is kept; otherwise the file's (perhaps edited) lr counts.
        app_lr = old.lr if old.lr != self.file_lr else None

        def rebuild() -> Advance:
            try:
                seed_everything(seed)
                experiment = reload_experiment_file(path)
                file_lr, note = float(experiment.optimizer.lr), ""
                if app_lr is not None:
                    experiment.optimizer.lr = app_lr
                    note = f"; the lr set in the app ({num(app_lr)}) kept"
                stepper = Stepper(
                    experiment,
                    old.settings,
                    old.breakpoints,
                    checkpoint_names=old.checkpoint_names,
                )
            except BaseException as error:  # the user's file: anything may come out of it
                self.post_message(ReloadFailed(error))
                return idle_advance(old)
            self.post_message(Reloaded(stepper, file_lr, note))
            return idle_advance(stepper)

        self.start_job("reload", rebuild, lambda _: None, "reloading")

    async def on_reloaded(self, message: Reloaded) -> None:
        old, self.stepper = self.stepper, message.stepper
        self.trainer.use(message.stepper)
        self.file_lr = message.file_lr
        await self.main.use_stepper(message.stepper)
        old.close()
        self.main.error_panel.hide()
        unique, naive = self.stepper.num_parameters
        self.title = f"ScratchAI - {self.stepper.experiment.name}"
        self.sub_title = f"{unique:,} params (naive {naive:,})"
        self.board.say(f"reloaded {self.experiment_file}: step 0{message.note}", timeout=6)

    def on_reload_failed(self, message: ReloadFailed) -> None:
        self.main.error_panel.show_text(
            "reload failed",
            "The edited file does not build; the model before the edit stays loaded.",
            str(message.error),
        )
        self.board.say("reload failed: the old model stays (esc hides the error)")

    # ------------------------------------------------------------------ exact settings
    def action_set_lr(self) -> None:
        def apply(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            old, new = self.stepper.lr, values["lr"]

            def change() -> None:
                self.stepper.set_lr(new)
                self.post_message(Notice(f"lr {num(old)} -> {num(new)}"))

            if self.running:  # the training thread holds the stepper: it changes lr itself
                self.trainer.defer(change)
            else:
                change()

        field = Field("lr", "learning rate", f"{self.stepper.lr:g}", parse_positive)
        note = "applies from the next update; 1e-3 and 0.001 both work"
        self.push_screen(PromptScreen("Learning rate", [field], note), apply)

    def action_rewind_settings(self) -> None:
        if self._refuse_while_running("changing the rewind settings"):
            return
        settings = self.stepper.settings

        def apply(values: dict[str, Any] | None) -> None:
            if values is None or self._refuse_while_running("changing the rewind settings"):
                return
            every, budget = values["every"], values["budget"]
            self.stepper.travel.configure(every, budget)
            memory = "auto" if budget is None else f"{budget:g} MiB"
            self.board.say(
                f"checkpoints every {every} steps, budget {memory}: from the next checkpoint on",
                timeout=6,
            )

        budget = settings.rewind_budget_mb
        fields = [
            Field(
                "every", "steps between checkpoints", str(settings.checkpoint_every), parse_interval
            ),
            Field(
                "budget",
                "rewind budget (MiB, or auto)",
                "auto" if budget is None else f"{budget:g}",
                parse_budget,
            ),
        ]
        note = (
            "Applies to the next checkpoints only; those saved stay. Going back replays from "
            "the checkpoint before the target: fewer steps between them, faster travel, more "
            "memory (past the budget, every other one is dropped)."
        )
        if not settings.rewind:
            note = "Rewind is off (Settings(rewind=False)): these apply to nothing."
        self.push_screen(PromptScreen("Rewind settings", fields, note), apply)

    def action_modes(self) -> None:
        # the user's forward, twice: in the job thread, like a step
        def show(result: object) -> None:
            self.push_screen(ModesScreen(result, self.stepper.step))  # type: ignore[arg-type]

        self.start_job("modes", self.stepper.views.compare_modes, show, "comparing train and eval")

    # ------------------------------------------------------------------ saving what is seen
    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen to ``./screenshots/`` (Textual's own wants ~/Downloads)."""
        folder = Path(path) if path else SCREENSHOT_DIR
        stamp = time.strftime("%Y%m%d-%H%M%S")
        stem = safe_stem(self.stepper.experiment.name)  # the name is text, never a path
        name = filename or f"{stem}-step{self.stepper.step}-{stamp}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = Path(self.save_screenshot(name, str(folder)))
        except OSError as error:
            self.board.say(f"could not save the screenshot: {error}", severity="error", timeout=8)
            return
        self.board.say(f"screenshot saved: {saved.resolve()}", timeout=6)

    def action_export(self) -> None:
        if self._refuse_while_running("exporting the history"):
            return
        try:
            path = self.stepper.views.export()
        except (OSError, ValueError) as error:
            self.board.say(f"could not export: {error}", severity="error", timeout=8)
            return
        self.board.say(f"history exported: {path.resolve()}", timeout=6)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Textual's commands without its "Screenshot" (``s`` is ours, in the table)."""
        for command in super().get_system_commands(screen):
            if command.title != "Screenshot":
                yield command
