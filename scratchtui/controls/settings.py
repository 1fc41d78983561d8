"""The keys that change a setting or save what the run holds: the lr ([ ] L), the rewind
options (o), the breakpoints (k), a checkpoint (w) and an export of the history (x)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scratchai.engine import RULE_BREAKPOINTS, Breakpoints

from ..messages import Notice
from ..screens.breakpoints import BreakpointsScreen
from ..screens.prompt import Field, PromptScreen, parse_budget, parse_interval, parse_positive
from ..widgets.format import num

if TYPE_CHECKING:
    from ..app import ScratchApp


class SettingKeys:
    """Changes the session's settings; a change the job thread must make waits for it.

    Args:
        app: the app whose session it changes.
    """

    def __init__(self, app: ScratchApp) -> None:
        self._app = app

    def scale_lr(self, direction: str) -> None:
        """Divide ("down") or multiply ("up") the lr by the settings' lr factor."""
        app = self._app
        factor = app.session.stepper.settings.lr_factor
        factor = 1.0 / factor if direction == "down" else factor

        def change() -> None:
            stepper = app.session.stepper
            old = stepper.lr  # when applied: several presses during a run add up
            new = stepper.scale_lr(factor)
            app.post_message(Notice(f"lr {num(old)} -> {num(new)}"))

        if app.running:  # the training thread holds the stepper: let it change lr itself
            app.trainer.defer(change)
        else:
            change()
            app.main.strip.refresh_from(app.session.stepper)

    def set_lr(self) -> None:
        """Ask for an exact lr; it applies from the next update."""
        app = self._app

        def apply(values: dict[str, Any] | None) -> None:
            if values is None:
                return
            stepper = app.session.stepper
            old, new = stepper.lr, values["lr"]

            def change() -> None:
                stepper.set_lr(new)
                app.post_message(Notice(f"lr {num(old)} -> {num(new)}"))

            if app.running:  # the training thread holds the stepper: it changes lr itself
                app.trainer.defer(change)
            else:
                change()

        field = Field("lr", "learning rate", f"{app.session.stepper.lr:g}", parse_positive)
        note = "applies from the next update; 1e-3 and 0.001 both work"
        app.push_screen(PromptScreen("Learning rate", [field], note), apply)

    def rewind_settings(self) -> None:
        """Ask for the checkpoint interval and the rewind budget (for the next checkpoints)."""
        app = self._app
        if app.refuse_while_running("changing the rewind settings"):
            return
        settings = app.session.stepper.settings

        def apply(values: dict[str, Any] | None) -> None:
            if values is None or app.refuse_while_running("changing the rewind settings"):
                return
            every, budget = values["every"], values["budget"]
            app.session.stepper.travel.configure(every, budget)
            memory = "auto" if budget is None else f"{budget:g} MiB"
            app.board.say(
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
        app.push_screen(PromptScreen("Rewind settings", fields, note), apply)

    def breakpoints(self) -> None:
        """The breakpoints dialog; what it returns applies at once, even to a run."""
        app = self._app

        def apply(chosen: Breakpoints | None) -> None:
            if chosen is None:
                return
            # Field by field: the training thread may be reading them; each set is atomic.
            breakpoints = app.session.stepper.breakpoints
            for name, value in vars(chosen).items():
                setattr(breakpoints, name, value)
            app.board.say(f"breakpoints: {describe_breakpoints(breakpoints)}")

        app.push_screen(BreakpointsScreen(app.session.stepper.breakpoints), apply)

    def checkpoint(self) -> None:
        """Save the model's state_dict and say where."""
        app = self._app
        if app.refuse_while_running("saving a checkpoint"):
            return
        stepper = app.session.stepper
        target = None
        if app.checkpoint_dir is not None:
            target = app.checkpoint_dir / stepper.views.checkpoint_name()
        try:
            path = stepper.views.save_checkpoint(target)
        except OSError as error:
            app.board.say(f"could not save the checkpoint: {error}", severity="error", timeout=8)
            return
        names = " (PyTorch's names)" if stepper.checkpoint_names == "torch" else ""
        app.board.say(f"checkpoint saved{names}: {path}", timeout=6)

    def export(self) -> None:
        """Write the history (CSV) and say where."""
        app = self._app
        if app.refuse_while_running("exporting the history"):
            return
        try:
            path = app.session.stepper.views.export()
        except (OSError, ValueError) as error:
            app.board.say(f"could not export: {error}", severity="error", timeout=8)
            return
        app.board.say(f"history exported: {path.resolve()}", timeout=6)


def describe_breakpoints(bp: Breakpoints) -> str:
    """One line: which breakpoints are on."""
    names = ("diverged", "nonfinite", "loss_rose", "converged", *RULE_BREAKPOINTS)
    on = [name for name in names if getattr(bp, name)]
    if bp.grad_norm_above is not None:
        on.append(f"grad norm > {bp.grad_norm_above:g}")
    return ", ".join(on) or "none (a run goes on until paused)"
