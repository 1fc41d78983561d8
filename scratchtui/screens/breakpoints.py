"""A small dialog to choose what pauses a run: divergence, NaN/Inf, a grad norm, a rising loss.

It edits a copy of the stepper's ``Breakpoints`` and returns it on apply (None on cancel), so
a half-edited dialog never changes a run in progress. Each box says "on" or "off" in words: the
checkbox itself shows its state by colour only.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label

from scratchai.engine import Breakpoints

from .dialog import Dialog

#: (Breakpoints field, what the checkbox says) for the on/off breakpoints.
TOGGLES = (
    ("diverged", "diverged (the rules say training diverged)"),
    ("nonfinite", "non-finite (NaN/Inf in the loss, an output or a gradient)"),
    ("loss_rose", "loss rose (by more than 10% over the previous step)"),
    ("converged", "converged (the loss plateaued)"),
    ("backward_check", "a backward fails the check against finite differences"),
    ("input_scale", "the inputs are not standardised"),
    ("vanishing_gradients", "vanishing gradients (early layers starve)"),
    ("exploding_gradients", "exploding gradients (early layers' updates blow up)"),
    ("saturation", "tanh/sigmoid layers saturated"),
    ("not_learning", "not learning (the loss stays at its init value)"),
    ("overfitting", "overfitting (validation worse while training improves)"),
    ("unregistered_modules", "modules called but not registered (a plain list or dict)"),
    ("broken_sharing", "a weight copied where an alias was meant, or two on one array"),
    ("broadcast_parameter", "a parameter broadcast over its layer's units (a (1,) bias)"),
    ("symmetric_units", "a layer's units identical (a constant init)"),
    ("mismatched_labels", "labels apart from inputs (validation at chance, training climbs)"),
    ("eval_randomness", "a module is random in eval mode"),
    ("frozen_statistics", "running statistics never updated"),
)
DEFAULT_GRAD_NORM = 100.0  # the lesson's "grad norm > 100"
GRAD_LABEL = "total grad norm above"


class StateCheckbox(Checkbox):
    """A checkbox whose label starts with its state in words ("on " / "off"), for terminals
    and eyes where the box's colour does not tell."""

    def __init__(self, text: str, value: bool, **kwargs) -> None:
        self.text = text
        super().__init__(_state_label(text, value), value, **kwargs)

    def watch_value(self) -> None:
        super().watch_value()  # the -on class and the Changed message
        self.label = _state_label(self.text, self.value)


def _state_label(text: str, value: bool) -> Content:
    state = ("on ", "bold green") if value else ("off", "dim")
    return Content.assemble(state, " ", text)


class BreakpointsScreen(Dialog[Breakpoints | None]):
    """Checkboxes for each breakpoint and a threshold for the grad-norm one.

    Args:
        current: the breakpoints in force now (not modified).
    """

    DEFAULT_CSS = """
    BreakpointsScreen > Vertical { width: 72; }
    /* compact widgets: the dialog must fit in 80x24 with room to spare */
    BreakpointsScreen Checkbox.-textual-compact, BreakpointsScreen Checkbox.-textual-compact:focus {
        border: none;
        height: 1;
    }
    BreakpointsScreen #grad-row { height: 1; }
    BreakpointsScreen #grad-threshold { width: 12; margin-left: 1; }
    BreakpointsScreen #buttons { height: 1; margin-top: 1; align-horizontal: right; }
    BreakpointsScreen Button { margin-left: 2; }
    BreakpointsScreen #error { color: $error; height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, current: Breakpoints) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = "Pause the run when..."
        with box:
            for name, label in TOGGLES:
                yield StateCheckbox(
                    label, getattr(self.current, name), id=f"bp-{name}", compact=True
                )
            with Horizontal(id="grad-row"):
                threshold = self.current.grad_norm_above
                yield StateCheckbox(
                    GRAD_LABEL,
                    threshold is not None,
                    id="bp-grad_norm_above",
                    compact=True,
                )
                yield Input(
                    str(threshold if threshold is not None else DEFAULT_GRAD_NORM),
                    type="number",
                    id="grad-threshold",
                    compact=True,
                )
            yield Label("", id="error")
            with Horizontal(id="buttons"):
                yield Button("Apply", variant="primary", id="apply", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def chosen(self) -> Breakpoints | None:
        """The breakpoints the dialog shows now, or None if the threshold is not a number > 0."""
        values = {name: self.query_one(f"#bp-{name}", Checkbox).value for name, _ in TOGGLES}
        threshold: float | None = None
        if self.query_one("#bp-grad_norm_above", Checkbox).value:
            try:
                threshold = float(self.query_one("#grad-threshold", Input).value)
            except ValueError:
                return None
            if not threshold > 0:
                return None
        return dataclasses.replace(self.current, grad_norm_above=threshold, **values)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
            return
        self.action_apply()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def action_apply(self) -> None:
        chosen = self.chosen()
        if chosen is None:
            self.query_one("#error", Label).update("the grad-norm threshold must be a number > 0")
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
