"""The keys that check the model rather than train it: a module's backward against finite
differences (g, G), the pre-flight checklist (c), train vs eval mode (t). Each runs the user's
code (forwards and backwards on copies), so in the job thread, like a step."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from scratchai.engine.checks import Checklist, run_checklist
from scratchai.engine.checks.backward import BackwardReport

from ..screens.check import CheckScreen
from ..screens.modes import ModesScreen

if TYPE_CHECKING:
    from ..app import ScratchApp


class CheckKeys:
    """Runs the checks in the job thread and shows their verdicts.

    Args:
        app: the app whose session it checks.
    """

    def __init__(self, app: ScratchApp) -> None:
        self._app = app

    def _selected_module(self) -> str | None:
        """The module of the inspector's selection (a parameter's or buffer's owner); None
        for the model itself or no selection."""
        path = self._app.main.inspector.path
        modules = {info.path for info in self._app.session.stepper.structure()}
        while path and path not in modules:
            path = path.rpartition(".")[0]
        return path or None

    def check_backward(self, which: str = "selected") -> None:
        """Check the selected module's backward ("selected") or every module's ("all") and
        point at what fails."""
        path = self._selected_module() if which == "selected" else None
        paths = [path] if path is not None else None
        stepper = self._app.session.stepper

        def check() -> object:
            try:
                return stepper.views.check_backward(paths)
            except RuntimeError as error:  # a layer is paused mid-pass
                return error

        then = partial(self._after_check, path)
        self._app.start_job("check", check, then, "checking a backward")

    def _after_check(self, path: str | None, report: object) -> None:
        app = self._app
        if isinstance(report, RuntimeError):
            app.board.say(str(report), severity="warning")
            return
        assert isinstance(report, BackwardReport)
        app.refresh_panels()
        if report.error:
            app.board.say(f"backward check: not run: {report.error}", severity="warning")
        elif report.failed:
            lines = [f"'{m.path}' ({m.type_name}): {m.problems[0]}" for m in report.failed]
            app.board.alert("\n".join(lines), title="backward check failed")
            app.main.point_at(report.failed[0].path)
        else:
            who = f"'{path}'" if path is not None else f"all {len(report.modules)} modules"
            app.board.say(f"backward check passed: {who} (tolerance {report.tolerance:g})")

    def checklist(self) -> None:
        """The pre-flight checks, on a screen that fills in as their verdicts arrive."""
        app = self._app
        if app.refuse_while_running("running the pre-flight checks"):
            return
        stepper = app.session.stepper
        # the recipe judges the setup: after training, its copies start from step 0's weights
        weights = "the initial weights" if stepper.step and stepper.settings.rewind else ""
        if stepper.step and not stepper.settings.rewind:
            weights = f"step {stepper.step}'s weights (rewind is off: the initial ones are gone)"
        screen = CheckScreen(stop=app.trainer.interrupt, weights=weights)

        def checks() -> Checklist | None:
            try:
                try:
                    experiment = stepper.travel.initial_experiment()
                except Exception:  # a model that cannot be copied: each check says so itself
                    experiment = stepper.experiment
                # "loss at init" judges step 1's loss, as the init-loss rule did
                first = stepper.views.first_loss()
                return run_checklist(experiment, on_result=screen.arrived, first_loss=first)
            except KeyboardInterrupt:  # the screen was closed, or i pressed
                return None

        app.push_screen(screen)
        then = partial(self._after_checklist, screen)
        app.start_job("checklist", checks, then, "running the checks")

    def _after_checklist(self, screen: CheckScreen, checklist: object) -> None:
        assert checklist is None or isinstance(checklist, Checklist)
        screen.finish(checklist)
        if checklist is None:
            self._app.board.say("pre-flight checks interrupted: the training state is unchanged")

    def modes(self) -> None:
        """The last batch in train and eval mode, side by side (the user's forward, twice)."""
        app = self._app

        def show(result: object) -> None:
            stepper = app.session.stepper  # the weights the two passes used: the model's now
            screen = ModesScreen(result, stepper.step, stepper.mid_batch)  # type: ignore[arg-type]
            app.push_screen(screen)

        app.start_job(
            "modes", app.session.stepper.views.compare_modes, show, "comparing train and eval"
        )
