"""The interactive debugger: one session (a ``Stepper`` and its job thread) and the keys that
drive it.

The keys are the rows of ``actions.ACTIONS``; the main screen owns most (its footer's and its
panels'), the app owns the ones that work over a dialog and the rest; each ``action_<name>``
calls into a controller of ``controls/``. The user's code never runs on the UI thread: every
step, run, epoch, rewind, reload and check is a job of the one job thread (``training.py``),
started through ``start_job``, which ``i`` or ctrl+c interrupts; keys that need the stepper
are refused while a job runs (a batch, phase or layer pressed during a step waits in a short
queue instead: ``controls/stepping.py``). The panels live on the main screen
(``screens/main.py``); the app only decides *when* they refresh: when a job ends, and at a
throttled rate while one runs.
Which notices stay on screen is ``notices.py``'s. Nothing here computes a statistic.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.screen import Screen

from scratchai.engine import StepFailed, Stepper
from scratchai.engine.timeline.file_names import safe_stem, write_new

from . import actions
from .controls import Controls
from .messages import Notice, TrainingStopped
from .notices import NoticeBoard
from .panels import PANELS
from .screens.main import MainScreen, is_narrow
from .session import Rebuilt, Session
from .training import OUTSIDE_STEPS, Trainer

#: Refresh rate of the screen while a run trains in the background: redrawing after every
#: step would spend the UI thread on frames nobody can read.
RUN_REFRESH_SECONDS = 0.25
#: How long quitting waits for a job to stop (interrupted) before exiting without it.
CLOSE_WAIT_SECONDS = 2.0
#: Where ``s`` saves screenshots (relative to the current directory).
SCREENSHOT_DIR = Path("screenshots")


class ScratchApp(App[None]):
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
    BINDINGS: ClassVar[list[BindingType]] = actions.bindings(PANELS, "app")  # type: ignore[assignment]

    def __init__(
        self,
        stepper: Stepper,
        checkpoint_dir: Path | None = None,
        experiment_file: Path | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        #: the stepper, its job thread, the model file and seed: ``R`` swaps the stepper there
        self.session = Session(stepper, Trainer(self, stepper), experiment_file, seed)
        self.checkpoint_dir = checkpoint_dir
        self.board = NoticeBoard(self)
        #: what the keys do (the main screen's and the app's ``action_*`` call into them)
        self.controls = Controls.of(self)
        #: the main view (the screen under every dialog)
        self.main = MainScreen(stepper, self.board, self.controls)
        self._drawn_step = -1

    @property
    def stepper(self) -> Stepper:
        """The session's stepper (a reload replaces it)."""
        return self.session.stepper

    @property
    def trainer(self) -> Trainer:
        """The job thread's front (the session's)."""
        return self.session.trainer

    @property
    def running(self) -> bool:
        """True while a job (a step, run, epoch or rewind) runs in the job thread."""
        return self.session.trainer.running

    def get_default_screen(self) -> Screen:
        return self.main

    def on_mount(self) -> None:
        self.title, self.sub_title = titles(self.session.stepper)
        self._ticker = self.set_interval(RUN_REFRESH_SECONDS, self._tick, pause=True)

    def on_resize(self, event: events.Resize) -> None:
        # Here, not on the screen: a dialog on top would get the screen's resize. This runs
        # before App._on_resize stores the new size: take it from the event.
        if self.main.is_mounted:
            self.main.narrow = is_narrow(event.size)

    def on_unmount(self) -> None:
        """Close the session's stepper (its hooks on the model) once no job runs: a job is
        interrupted, and exiting never waits longer than ``CLOSE_WAIT_SECONDS`` (a job
        stuck in a C call is left to the process's end: its thread is a daemon)."""
        if self.trainer.stop_within(CLOSE_WAIT_SECONDS):
            self.session.stepper.close()

    # ------------------------------------------------------------------ refreshing
    def refresh_panels(self) -> None:
        """Redraw every panel from the stepper (once per key, or per tick while running)."""
        self.main.refresh_panels()
        self._drawn_step = self.session.stepper.step

    def _tick(self) -> None:
        """While a job runs: the strip's clock, and the panels if a step finished since."""
        if self.return_code is not None:  # exiting: the screens may be gone already
            return
        stepper, strip = self.session.stepper, self.main.strip
        if self.running and strip.mode == "paused":
            strip.set_mode("stepping", self.trainer.job, self.trainer.started)
        if stepper.step != self._drawn_step:
            self.refresh_panels()
        else:
            strip.refresh_from(stepper)
        # a run measures per-layer numbers every few steps: ask for them on the next step,
        # so the next tick shows layer numbers at most a step old
        stepper.request_layers()

    # ------------------------------------------------------------------ the job thread
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The app's keys of the main view do nothing while a dialog (help, breakpoints,
        palette) is up."""
        if action in actions.MAIN_VIEW_ACTIONS and self.screen is not self.main:
            return None  # not handled: the key goes on to the dialog
        # ctrl+c (``interrupt('running')``) interrupts a job; otherwise it keeps Textual's
        # meaning (copy, "press q to quit")
        return action != "interrupt" or not parameters or self.running

    def refuse_while_running(self, what: str) -> bool:
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
        failure is shown for it; if it returns an awaitable, that is awaited)."""
        if self.refuse_while_running(what):
            return False
        self.trainer.start(job, work, then)
        if job == "run":
            self.main.strip.set_mode("running", job, self.trainer.started)
        # A step shows in the strip from the first tick on, a whole tick from now (reset, not
        # resume: a paused timer ticks at once): a quick step (most) draws no frame in between,
        # which would delay the next one (Textual's frame rate) and slow the step.
        self._ticker.reset()
        return True

    async def on_training_stopped(self, message: TrainingStopped) -> None:
        trainer = self.trainer
        interrupted = trainer.interrupting
        then = trainer.stopped()
        self._ticker.pause()
        self.main.strip.set_mode("paused")
        error = message.error
        if isinstance(error, StepFailed):
            self.controls.steps.show_failure(error)
        elif isinstance(error, KeyboardInterrupt) and message.job in OUTSIDE_STEPS:
            self.board.say(f"{message.job} interrupted: the training state is unchanged")
        elif isinstance(error, KeyboardInterrupt):  # landed between two steps: nothing undone
            self.board.alert("interrupted between two steps (nothing to undo)", title="paused")
            self.refresh_panels()
        elif error is not None:
            self.board.alert(f"training stopped: {error!r}", severity="error")
            self.refresh_panels()
        elif then is not None:
            shown = then(message.advance)
            if inspect.isawaitable(shown):  # a reload: the panels are rebuilt
                await shown
            if interrupted and message.job not in OUTSIDE_STEPS:  # ended between two steps
                self.board.say("interrupted between two steps: nothing to undo")
        self.controls.travel.after_job(message)
        self.controls.steps.after_job(message.error, message.advance)  # the next queued step

    def on_notice(self, message: Notice) -> None:
        self.board.say(message.text)
        self.main.strip.refresh_from(self.session.stepper)

    # ------------------------------------------------------------------ reload (R)
    def action_reload(self) -> None:
        if self.session.experiment_file is None:
            self.board.say(
                "reload works on a model file: scratchtui run FILE (a demo does not change)",
                severity="warning",
            )
            return
        self.start_job("reload", self.session.rebuild, self._reloaded, "reloading")

    async def _reloaded(self, rebuilt: object) -> None:
        """Swap the rebuilt stepper in and rebuild the panels on it, the refresh ticker paused
        meanwhile (a tick would read a screen half rebuilt); or show why the file did not
        build (the old model stays)."""
        if not isinstance(rebuilt, Rebuilt):
            self.main.error_panel.show_text(
                "reload failed",
                "The edited file does not build; the model before the edit stays loaded.",
                str(rebuilt),
            )
            self.board.say("reload failed: the old model stays (esc hides the error)")
            return
        self._ticker.pause()
        try:
            old = self.session.replace(rebuilt)
            await self.main.use_stepper(rebuilt.stepper)
        finally:
            if self.running:
                self._ticker.resume()
        old.close()
        self.main.error_panel.hide()
        self.title, self.sub_title = titles(rebuilt.stepper)
        self._drawn_step = -1
        note = rebuilt.note
        self.board.say(f"reloaded {self.session.experiment_file}: step 0{note}", timeout=6)

    # ------------------------------------------------------------------ the app's other keys
    def action_interrupt(self, when: str = "") -> None:
        """Stop the job now: the step in progress is undone, like a failed one. ctrl+c passes
        "running": it is bound only while a job runs (``check_action``). The steps queued
        behind it are dropped."""
        self.controls.steps.clear_queue()
        if not self.running:
            self.board.say("nothing is running: i interrupts a step or a run")
            return
        self.trainer.interrupt()
        self.main.strip.set_mode("interrupting", self.trainer.job, self.trainer.started)

    def action_goto(self) -> None:
        self.controls.travel.goto()

    def action_restart(self) -> None:
        self.controls.travel.restart()

    def action_set_lr(self) -> None:
        self.controls.settings.set_lr()

    def action_rewind_settings(self) -> None:
        self.controls.settings.rewind_settings()

    def action_modes(self) -> None:
        self.controls.checks.modes()

    def action_export(self) -> None:
        self.controls.settings.export()

    def action_hide_error(self) -> None:
        self.main.error_panel.hide()

    def action_registry(self) -> None:
        """The registry view: build()'s registrations replayed one by one."""
        from .screens.registry import RegistryScreen

        self.push_screen(RegistryScreen(self.session.stepper))

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Save an SVG of the screen to ``./screenshots/`` (Textual's own wants ~/Downloads)."""
        folder = Path(path) if path else SCREENSHOT_DIR
        stepper = self.session.stepper
        stamp = time.strftime("%Y%m%d-%H%M%S")
        stem = safe_stem(stepper.experiment.name)  # the name is text, never a path
        name = filename or f"{stem}-step{stepper.step}-{stamp}.svg"
        try:  # an earlier screenshot of the same name is kept: this one gets -2, -3, ...
            saved = write_new(
                folder / name, lambda tmp: self.save_screenshot(tmp.name, str(tmp.parent))
            )
        except OSError as error:
            self.board.say(f"could not save the screenshot: {error}", severity="error", timeout=8)
            return
        self.board.say(f"screenshot saved: {saved.resolve()}", timeout=6)

    async def action_quit(self) -> None:
        """Quit now: a job is interrupted (``on_unmount`` waits for it, bounded)."""
        if self.running:
            self.trainer.interrupt()
        self._ticker.stop()
        self.exit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action by name in the command palette (ctrl+p), carried out by its owner;
        Textual's commands without its "Screenshot" (``s`` is ours, in the table), and its
        "Keys" opens the help of ``?``: one help."""
        for command in super().get_system_commands(screen):
            if command.title == "Keys":
                yield SystemCommand("Keys", "every key, panel and mark (?)", self.main.action_help)
            elif command.title != "Screenshot":
                yield command
        for title, help_text, row in actions.palette_entries():
            owner = self.main if row.owner == "main" else self
            method = getattr(owner, f"action_{row.name}")
            yield SystemCommand(title, help_text, partial(method, *row.arguments))


def titles(stepper: Stepper) -> tuple[str, str]:
    """The app's title and subtitle for a model: its name, and its parameter counts."""
    unique, naive = stepper.num_parameters
    # naive counts a shared weight once per owner: the gap is what sharing saves
    return f"ScratchAI - {stepper.experiment.name}", f"{unique:,} params (naive {naive:,})"
