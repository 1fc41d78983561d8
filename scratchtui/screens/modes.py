"""The last batch through the model in train mode and in eval mode, side by side.

BatchNorm normalises with the batch's statistics while training and with its running ones in
eval mode; Dropout drops units only while training. The engine runs the batch both ways without
changing anything (``stepper.views.compare_modes``); this screen only shows the two sets of probes,
one row per layer call, and marks where the two modes differ.
"""

from __future__ import annotations

import math
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Label

from scratchai.engine import ModuleProbe

from ..widgets.format import num, percent
from .dialog import Dialog

#: (header, width) of the columns; train and eval each get mean, std, dead/sat. Each width
#: holds its header and a one-cell gap (no cell padding; the last needs no gap), so the
#: batchnorm demo's table fits 80 columns.
COLUMNS = (
    ("layer", 0),
    ("type", 0),
    ("train mean", 11),
    ("eval mean", 10),
    ("train std", 10),
    ("eval std", 9),
    ("train d/s", 10),
    ("eval d/s", 8),
)
#: Characters of a number in the table (each column's width leaves a gap after it).
NUM_WIDTH = 8
#: Relative difference above which the eval value is highlighted.
DIFFERS = 1e-3


class ModesScreen(Dialog[None]):
    """Per layer: output mean and std and the dead/saturated fraction, train vs eval.

    Args:
        modes: ``stepper.views.compare_modes()``: (train probes, eval probes), or None before
            a batch.
        step: the steps completed (``stepper.step``).
        mid_batch: paused inside a batch (``l``, ``p``): the batch is the one in progress.
    """

    DEFAULT_CSS = """
    ModesScreen > Vertical { width: auto; }
    ModesScreen DataTable { height: auto; max-height: 100%; width: auto; }
    ModesScreen #modes-note { color: $text-muted; height: auto; width: 100%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("t", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(
        self,
        modes: tuple[tuple[ModuleProbe, ...], tuple[ModuleProbe, ...]] | None,
        step: int,
        mid_batch: bool = False,
    ) -> None:
        super().__init__()
        self.modes = modes
        self.step = step
        self.mid_batch = mid_batch
        #: per row: (path, train values, eval values) as shown (for tests)
        self.rows: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []

    def compose(self) -> ComposeResult:
        box = Vertical()
        batch = self.step + 1 if self.mid_batch else self.step
        box.border_title = f"train vs eval: the batch of step {batch}"
        box.border_subtitle = "esc closes"
        with box:
            if self.modes is None:
                yield Label("no batch yet: train one (n) and look again", id="modes-note")
                return
            yield DataTable(cursor_type="row", zebra_stripes=True, cell_padding=0, id="modes-table")
            yield Label(weights_note(self.step, self.mid_batch), id="modes-weights")
            yield Label(
                "same batch, nothing changed: train mode uses batch statistics (BatchNorm) "
                "and drops units (Dropout); eval mode uses running statistics, no dropout. "
                "Yellow: eval differs.",
                id="modes-note",
            )

    def on_mount(self) -> None:
        if self.modes is None:
            return
        table = self.query_one(DataTable)
        train, evaluation = self.modes
        paths = [t.path or "(model)" for t in train]
        types = [t.type_name for t in train]
        for header, width in COLUMNS:
            if header == "layer":
                width = max(len(p) for p in [*paths, header]) + 1
            elif header == "type":
                width = max(len(t) for t in [*types, header]) + 1
            table.add_column(header, width=width)
        for path, type_name, t, e in zip(paths, types, train, evaluation, strict=True):
            tv = _values(t)
            ev = _values(e)
            cells: list[Text | str] = [path, type_name]
            for a, b in zip(tv, ev, strict=True):
                cells.append(Text(a[0]))
                cells.append(Text(b[0], style="bold yellow" if _differs(a[1], b[1]) else ""))
            self.rows.append((path, tuple(v[0] for v in tv), tuple(v[0] for v in ev)))
            table.add_row(*cells)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)  # at most once (Dialog)


def weights_note(step: int, mid_batch: bool) -> str:
    """Which weights the two passes used: the model as it is now."""
    if mid_batch:
        return (
            f"Weights: step {step}'s, before this batch's update (step {step + 1} is in progress)."
        )
    return f"Weights: after step {step}'s update (what step {step + 1} starts from)."


def _values(probe: ModuleProbe) -> tuple[tuple[str, float | None], ...]:
    """(text, value) of mean, std, dead/saturated fraction."""
    fraction = probe.dead_fraction if probe.dead_fraction is not None else probe.saturation
    return (
        (num(probe.output.mean, NUM_WIDTH), probe.output.mean),
        (num(probe.output.std, NUM_WIDTH), probe.output.std),
        (percent(fraction), fraction),
    )


def _differs(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is not b
    if not (math.isfinite(a) and math.isfinite(b)):
        return str(a) != str(b)
    return abs(a - b) > DIFFERS * max(abs(a), abs(b), 1e-12)
