"""The interactive debugger: one ``Stepper`` and the keys that drive it.

The keys are the rows of ``actions.ACTIONS``; each carries out its ``action_<name>`` below. The
user's code never runs on the UI thread: every step, run, epoch and rewind is a job of the one
job thread (``training.py``), which ``i`` or ctrl+c interrupts; keys that need the stepper are
refused while a job runs. The panels live on the main screen (``screens/main.py``); the app
only decides *when* they refresh: when a job ends, and at a throttled rate while one runs.
Which notices stay on screen is ``notices.py``'s. Nothing here computes a statistic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen

from scratchai.engine import (
    RULE_BREAKPOINTS,
    Advance,
    Breakpoints,
    Granularity,
    Severity,
    StepFailed,
    Stepper,
)
from scratchai.engine.checks import Checklist, run_checklist
from scratchai.engine.checks.backward import BackwardReport

from . import actions
from .messages import Notice, TrainingStopped
from .notices import NoticeBoard
from .panels import PANELS
from .screens.breakpoints import BreakpointsScreen
from .screens.check import CheckScreen
from .screens.help import HelpScreen
from .screens.main import MainScreen, is_narrow
from .training import OUTSIDE_STEPS, Trainer
from .travel_keys import TravelKeys
from .widgets.format import num

#: Refresh rate of the screen while a run trains in the background: redrawing after every
#: step would spend the UI thread on frames nobody can read.
RUN_REFRESH_SECONDS = 0.25
#: How long quitting waits for a job to stop (interrupted) before exiting without it.
CLOSE_WAIT_SECONDS = 2.0
#: Preferred rule, first first, when choosing which module an automatic pause points at.
FOCUS_RULES = ("nonfinite_output", "nonfinite_grad", "nonfinite_loss", "grad_norm")


class ScratchApp(TravelKeys, App[None]):
    """Step through a model's training one layer, phase, batch or epoch at a time.

    Args:
        stepper: the engine to drive (the same object the headless runner uses).
        checkpoint_dir: where ``w`` saves checkpoints (default: ``./checkpoints``).
        experiment_file: the model file (``scratchtui run FILE``) that ``R`` reloads.
        seed: the seed the model was built with; a reload seeds the same.
    """

    # Absolute, so a subclass defined elsewhere (tests, a user's tweak) still finds it.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "ScratchAI"
    BINDINGS: ClassVar[list[BindingType]] = actions.bindings(PANELS)  # type: ignore[assignment]

    def __init__(
        self,
        stepper: Stepper,
        checkpoint_dir: Path | None = None,
        experiment_file: Path | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.stepper = stepper
        self.checkpoint_dir = checkpoint_dir
        self.experiment_file = experiment_file
        self.seed = seed
        self.file_lr = stepper.lr
        self.board = NoticeBoard(self)
        self.trainer = Trainer(self, stepper)
        #: the main view (the screen under every dialog)
        self.main = MainScreen(stepper, self.board)
        self._drawn_step = -1

    @property
    def running(self) -> bool:
        """True while a job (a step, run, epoch or rewind) runs in the job thread."""
        return self.trainer.running

    def get_default_screen(self) -> Screen:
        return self.main

    def on_mount(self) -> None:
        unique, naive = self.stepper.num_parameters
        self.title = f"ScratchAI - {self.stepper.experiment.name}"
        # naive counts a shared weight once per owner: the gap is what sharing saves
        self.sub_title = f"{unique:,} params (naive {naive:,})"
        self._ticker = self.set_interval(RUN_REFRESH_SECONDS, self._tick, pause=True)

    def on_resize(self, event: events.Resize) -> None:
        # Here, not on the screen: a dialog on top would get the screen's resize. This runs
        # before App._on_resize stores the new size: take it from the event.
        if self.main.is_mounted:
            self.main.narrow = is_narrow(event.size)

    def on_unmount(self) -> None:
        """Close the stepper (a layer pass parked in its helper thread) once no job runs: a
        job is interrupted, and exiting never waits longer than ``CLOSE_WAIT_SECONDS`` (a job
        stuck in a C call is left to the process's end: its thread is a daemon)."""
        if self.trainer.stop_within(CLOSE_WAIT_SECONDS):
            self.stepper.close()

    # ------------------------------------------------------------------ refreshing
    def refresh_panels(self) -> None:
        """Redraw every panel from the stepper (once per key, or per tick while running)."""
        self.main.refresh_panels()
        self._drawn_step = self.stepper.step

    def _tick(self) -> None:
        """While a job runs: the strip's clock, and the panels if a step finished since."""
        if self.return_code is not None:  # exiting: the screens may be gone already
            return
        strip = self.main.strip
        if self.running and strip.mode == "paused":
            strip.set_mode("stepping", self.trainer.job, self.trainer.started)
        if self.stepper.step != self._drawn_step:
            self.refresh_panels()
        else:
            self.main.strip.refresh_from(self.stepper)
        # a run measures per-layer numbers every few steps: ask for them on the next step,
        # so the next tick shows layer numbers at most a step old
        self.stepper.request_layers()

    # ------------------------------------------------------------------ stepping (paused)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys of the main view do nothing while a dialog (help, breakpoints, palette) is up."""
        if action == actions.WIDE_ONLY and self.main.narrow:
            return False  # hidden from the narrow footer; the hidden twin binding takes the key
        if action in actions.MAIN_VIEW_ACTIONS and self.screen is not self.main:
            return None  # not handled: the key goes on to the dialog (space ticks a checkbox)
        # ctrl+c interrupts a job; otherwise it keeps Textual's meaning (copy, "press q to quit")
        return action != actions.INTERRUPT_RUNNING or self.running

    def _refuse_while_running(self, what: str) -> bool:
        """Say why ``what`` cannot happen while a job runs; True if one does."""
        if not self.running:
            return False
        if self.trainer.job == "run":
            self.board.say(f"training is running: press r to pause before {what}")
        else:
            took = f"{self.trainer.job}, {self.trainer.elapsed:.1f} s"
            self.board.say(f"a step is running ({took}): press i to interrupt it before {what}")
        return True

    def start_job(self, job: str, work: Callable[[], object], then: Callable, what: str) -> bool:
        """Run ``work`` (anything that calls the user's code) in the job thread, unless one
        runs already (then say so and return False); ``then(result)`` shows what it did (a
        failure is shown for it)."""
        if self._refuse_while_running(what):
            return False
        self.trainer.start(job, work, then)
        if job == "run":
            self.main.strip.set_mode("running", job, self.trainer.started)
        # A step shows in the strip from the first tick on, a whole tick from now (reset, not
        # resume: a paused timer ticks at once): a quick step (most) draws no frame in between,
        # which would delay the next one (Textual's frame rate) and slow the step.
        self._ticker.reset()
        return True

    def _advance(self, granularity: Granularity) -> bool:
        """A batch, phase or layer: milliseconds usually, but the user's code may loop."""
        name = granularity.name.lower()
        work = partial(self.stepper.advance, granularity)
        return self.start_job(name, work, self._after_advance, f"stepping one {name}")

    def _after_advance(self, advance: Advance) -> None:
        self.refresh_panels()
        self.main.mark_layer(self.stepper.active_path)
        if advance.stopped_by:  # one notice that says why covers the warnings behind it
            self._paused_by_breakpoint(advance)
            return
        # divergence, and a wrong backward (found before the first step): both need acting on
        diverged = [
            f"{w.message}{_at(w.target)}"
            for w in advance.warnings
            if w.severity is Severity.DIVERGED or w.rule == "backward_check"
        ]
        if diverged:
            self.board.alert("\n".join(diverged))

    def action_step_batch(self) -> None:
        self._advance(Granularity.BATCH)

    def action_step_phase(self) -> None:
        self._advance(Granularity.PHASE)

    def action_step_layer(self) -> None:
        self._advance(Granularity.LAYER)

    def action_step_epoch(self) -> None:
        if self._advance(Granularity.EPOCH):
            self.main.warnings_panel.show_reason(None)

    def action_rewind(self) -> None:
        # a replay from the checkpoint before: it runs the user's code, so in the worker;
        # presses while it replays add up (travel_keys.py)
        self._go_back(1)

    # ------------------------------------------------------------------ learning rate, checkpoint
    def _scale_lr(self, factor: float) -> None:
        def change() -> None:
            old = self.stepper.lr  # when applied: several presses during a run add up
            new = self.stepper.scale_lr(factor)
            self.post_message(Notice(f"lr {num(old)} -> {num(new)}"))

        if self.running:  # the training thread holds the stepper: let it change lr itself
            self.trainer.defer(change)
        else:
            change()
            self.main.strip.refresh_from(self.stepper)

    def action_lr_down(self) -> None:
        self._scale_lr(1.0 / self.stepper.settings.lr_factor)

    def action_lr_up(self) -> None:
        self._scale_lr(self.stepper.settings.lr_factor)

    def action_checkpoint(self) -> None:
        if self._refuse_while_running("saving a checkpoint"):
            return
        target = None
        if self.checkpoint_dir is not None:
            target = self.checkpoint_dir / self.stepper.views.checkpoint_name()
        try:
            path = self.stepper.views.save_checkpoint(target)
        except OSError as error:
            self.board.say(f"could not save the checkpoint: {error}", severity="error", timeout=8)
            return
        names = " (PyTorch's names)" if self.stepper.checkpoint_names == "torch" else ""
        self.board.say(f"checkpoint saved{names}: {path}", timeout=6)

    def on_notice(self, message: Notice) -> None:
        self.board.say(message.text)
        self.main.strip.refresh_from(self.stepper)

    # ------------------------------------------------------------------ the job thread
    def action_toggle_run(self) -> None:
        if self.running and self.trainer.job == "run":
            self.trainer.request_stop()
            self.main.strip.set_mode("pausing")
            return
        run = partial(self.stepper.run, should_stop=self.trainer.should_stop)
        if self.start_job("run", run, self._after_advance, "running"):
            self.main.warnings_panel.show_reason(None)

    def action_interrupt(self) -> None:
        """Stop the job now: the step in progress is undone, like a failed one."""
        if not self.running:
            self.board.say("nothing is running: i interrupts a step or a run")
            return
        self.trainer.interrupt()
        self.main.strip.set_mode("interrupting", self.trainer.job, self.trainer.started)

    def action_interrupt_running(self) -> None:
        """ctrl+c while a job runs (otherwise Textual's ctrl+c, see ``check_action``)."""
        self.action_interrupt()

    def on_training_stopped(self, message: TrainingStopped) -> None:
        interrupted = self.trainer.interrupting
        then = self.trainer.stopped()
        self._ticker.pause()
        self.main.strip.set_mode("paused")
        error = message.error
        if isinstance(error, StepFailed):
            self._show_failure(error)
        elif isinstance(error, KeyboardInterrupt) and message.job in OUTSIDE_STEPS:
            self.board.say(f"{message.job} interrupted: the training state is unchanged")
        elif isinstance(error, KeyboardInterrupt):  # landed between two steps: nothing undone
            self.board.alert("interrupted between two steps (nothing to undo)", title="paused")
            self.refresh_panels()
        elif error is not None:
            self.board.alert(f"training stopped: {error!r}", severity="error")
            self.refresh_panels()
        elif then is not None:
            then(message.advance)
            if interrupted and message.job not in OUTSIDE_STEPS:  # ended between two steps
                self.board.say("interrupted between two steps: nothing to undo")

    def _paused_by_breakpoint(self, advance: Advance) -> None:
        """Say why the run paused and point at the module responsible."""
        reason = "; ".join(advance.stopped_by)
        self.main.warnings_panel.show_reason(reason)
        # Only what fired on the step that paused: an older warning would point at a stale place.
        target = _focus_target(w for w in advance.warnings if w.step == advance.step)
        self.board.alert(f"{reason}{_at(target)}", title="paused")
        if target:
            self.main.point_at(target)

    # ------------------------------------------------------------------ failures
    def _show_failure(self, error: StepFailed) -> None:
        step = self.stepper.step
        self.main.error_panel.show_failure(error, step)
        self.main.warnings_panel.add_failure(error, step)  # stays in the log after esc
        self.clear_notifications()  # a toast would cover the traceback: the panel says it all
        self.main.mark_layer(None)
        self.refresh_panels()

    def action_hide_error(self) -> None:
        self.main.error_panel.hide()

    # ------------------------------------------------------------------ checks
    def _selected_module(self) -> str | None:
        """The module of the inspector's selection (a parameter's or buffer's owner); None
        for the model itself or no selection."""
        path = self.main.inspector.path
        modules = {info.path for info in self.stepper.structure()}
        while path and path not in modules:
            path = path.rpartition(".")[0]
        return path or None

    def action_check_backward(self) -> None:
        self._check_backward(self._selected_module())

    def action_check_backward_all(self) -> None:
        self._check_backward(None)

    def _check_backward(self, path: str | None) -> None:
        """Check one module's backward (None: every module) and point at what fails. It runs
        the user's code (forwards and backwards on copies): in the job thread, like a step."""
        paths = [path] if path is not None else None

        def check() -> object:
            try:
                return self.stepper.views.check_backward(paths)
            except RuntimeError as error:  # a layer is paused mid-pass
                return error

        self.start_job("check", check, partial(self._after_check, path), "checking a backward")

    def _after_check(self, path: str | None, report: object) -> None:
        if isinstance(report, RuntimeError):
            self.board.say(str(report), severity="warning")
            return
        assert isinstance(report, BackwardReport)
        self.refresh_panels()
        if report.error:
            self.board.say(f"backward check: not run: {report.error}", severity="warning")
        elif report.failed:
            lines = [f"'{m.path}' ({m.type_name}): {m.problems[0]}" for m in report.failed]
            self.board.alert("\n".join(lines), title="backward check failed")
            self.main.point_at(report.failed[0].path)
        else:
            who = f"'{path}'" if path is not None else f"all {len(report.modules)} modules"
            self.board.say(f"backward check passed: {who} (tolerance {report.tolerance:g})")

    def action_checklist(self) -> None:
        if self._refuse_while_running("running the pre-flight checks"):
            return
        stepper = self.stepper
        # the recipe judges the setup: after training, its copies start from step 0's weights
        weights = "the initial weights" if stepper.step and stepper.settings.rewind else ""
        if stepper.step and not stepper.settings.rewind:
            weights = f"step {stepper.step}'s weights (rewind is off: the initial ones are gone)"
        screen = CheckScreen(stop=self.trainer.interrupt, weights=weights)

        def checks() -> Checklist | None:
            try:
                try:
                    experiment = stepper.travel.initial_experiment()
                except Exception:  # a model that cannot be copied: each check says so itself
                    experiment = stepper.experiment
                return run_checklist(experiment, on_result=screen.arrived)
            except KeyboardInterrupt:  # the screen was closed, or i pressed
                return None

        self.push_screen(screen)
        self.start_job(
            "checklist", checks, partial(self._after_checklist, screen), "running the checks"
        )

    def _after_checklist(self, screen: CheckScreen, checklist: Checklist | None) -> None:
        screen.finish(checklist)
        if checklist is None:
            self.board.say("pre-flight checks interrupted: the training state is unchanged")

    # ------------------------------------------------------------------ views, screens, palette
    def action_view(self, name: str) -> None:
        """Show one panel (narrow terminals) and focus it."""
        self.main.show_view(name)

    def action_flow(self) -> None:
        """Show and focus the flow panel."""
        self.main.show_view("flow")

    def action_registry(self) -> None:
        """The registry view: build()'s registrations replayed one by one."""
        from .screens.registry import RegistryScreen

        self.push_screen(RegistryScreen(self.stepper))

    def action_wide_only(self, action: str) -> None:
        """The footer key of an action the narrow footer has no room for (``Action.narrow``)."""
        getattr(self, f"action_{action}")()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_breakpoints(self) -> None:
        def apply(chosen: Breakpoints | None) -> None:
            if chosen is None:
                return
            # Field by field: the training thread may be reading them; each set is atomic.
            for name, value in vars(chosen).items():
                setattr(self.stepper.breakpoints, name, value)
            self.board.say(f"breakpoints: {describe_breakpoints(self.stepper.breakpoints)}")

        self.push_screen(BreakpointsScreen(self.stepper.breakpoints), apply)

    async def action_quit(self) -> None:
        """Quit now: a job is interrupted (``on_unmount`` waits for it, bounded)."""
        if self.running:
            self.trainer.interrupt()
        self._ticker.stop()
        self.exit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action by name in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        for title, help_text, action in actions.palette_entries():
            yield SystemCommand(title, help_text, getattr(self, f"action_{action}"))


def _at(target: str | None) -> str:
    return f" (at '{target}')" if target else ""


def _focus_target(warnings: Iterable) -> str | None:
    """The path a pause should point at: the first non-finite module if any, else the first
    diverging warning that names one."""
    named = [w for w in warnings if w.target]
    for rule in FOCUS_RULES:
        for warning in named:
            if warning.rule == rule:
                return warning.target
    return named[0].target if named else None


def describe_breakpoints(bp: Breakpoints) -> str:
    """One line: which breakpoints are on."""
    names = ("diverged", "nonfinite", "loss_rose", "converged", *RULE_BREAKPOINTS)
    on = [name for name in names if getattr(bp, name)]
    if bp.grad_norm_above is not None:
        on.append(f"grad norm > {bp.grad_norm_above:g}")
    return ", ".join(on) or "none (a run goes on until paused)"
