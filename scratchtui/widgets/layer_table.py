"""One row per module call of the forward pass, with the step's activation and gradient probes.

Rows are added once (on the first step, or if the forward order ever changes); afterwards cells
are updated in place with ``update_width=False``, so a step costs no re-measuring. Only the rows
on screen are updated per step; the others catch up when scrolled into view, so a model with
a thousand layers costs a screenful of cell updates per step, not a thousand rows.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from scratchai.engine import ModuleProbe, Stepper, StepRecord

from ..messages import PathSelected
from .format import fraction_style, nonfinite_text, percent, ratio_style, sci, shape, value_text

#: (key, header, width). Widths are fixed so in-place updates never need re-measuring.
#: Most telling first, so a narrow terminal shows them without scrolling sideways.
COLUMNS = (
    ("path", "layer", 12),
    ("shape", "out shape", 9),
    ("mean", "mean", 7),
    ("std", "std", 7),
    ("grad", "|grad|", 7),
    ("ratio", "upd:data", 8),
    ("dead", "dead/sat", 8),
    ("nonfinite", "nan/inf", 7),
    ("type", "type", 11),
)
NUM_WIDTH = 7
HINT_KEY = "__no_step__"


class LayerTable(DataTable):
    """The layer table of issue 4: output shape, activation stats, dead/saturated fraction, grad
    norm, update:data ratio (coloured against 1e-3) and non-finite count per module call.

    Args:
        stepper: the engine whose steps this shows.
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        super().__init__(**kwargs)
        for key, header, width in COLUMNS:
            self.add_column(header, key=key, width=width)
        #: row key of each module call, in forward order ('path' or 'path#2' for a re-use)
        self.row_keys: tuple[str, ...] = ()
        self._paths: tuple[str, ...] = ()
        self._record: StepRecord | None = None
        self._drawn: list[StepRecord | None] = []  # the record each row was last drawn from
        self._highlighted: str | None = None
        self._show_hint()
        self.refresh_from(stepper)

    # ------------------------------------------------------------------ the widget contract
    def refresh_from(self, stepper: Stepper) -> None:
        """Show the latest step's module probes (cells updated in place)."""
        record = stepper.last_step
        if record is self._record:
            return
        self._record = record
        if record is None:  # rewound to before the first step
            self._show_hint()
            return
        paths = tuple(m.path for m in record.modules)
        if paths != self._paths:
            self._rebuild(record.modules)
            return
        self._draw_visible()

    def _draw_visible(self) -> None:
        """Bring the rows on screen (and a small margin) up to the current record."""
        record = self._record
        if record is None or not self.row_keys:
            return
        height = self.size.height
        if height <= 0:  # not laid out yet: everything may be visible
            rows = range(len(self.row_keys))
        else:
            top = round(self.scroll_y)
            rows = range(max(top - 2, 0), min(top + height + 2, len(self.row_keys)))
        for i in rows:
            if self._drawn[i] is record:
                continue
            self._drawn[i] = record
            key = self.row_keys[i]
            # path and type never change for a row; the other cells are this step's probes
            for column, value in zip(COLUMNS[1:-1], _cells(record.modules[i])[1:-1], strict=True):
                self.update_cell(key, column[0], value, update_width=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._draw_visible()

    def on_resize(self) -> None:
        self._draw_visible()

    def highlight(self, path: str | None) -> None:
        """Move the row cursor to the first call of the module ``path`` names.

        A parameter path ('0.W') selects the row of its module ('0').
        """
        self._highlighted = path
        row = self._row_of(path)
        if row is not None:
            self.move_cursor(row=row)

    # ------------------------------------------------------------------ internals
    def _rebuild(self, modules: tuple[ModuleProbe, ...]) -> None:
        """(Re)create every row: the first step, or a forward pass whose order changed."""
        self.clear()
        seen: dict[str, int] = {}
        keys = []
        for probe in modules:
            seen[probe.path] = seen.get(probe.path, 0) + 1
            key = probe.path if seen[probe.path] == 1 else f"{probe.path}#{seen[probe.path]}"
            keys.append(key)
            self.add_row(*_cells(probe), key=key)
        self.row_keys = tuple(keys)
        self._drawn = [self._record] * len(keys)
        self._paths = tuple(m.path for m in modules)
        if self._highlighted is not None:
            self.highlight(self._highlighted)

    def _show_hint(self) -> None:
        self.clear()
        self.row_keys, self._paths, self._drawn = (), (), []
        hint = Text("no step yet", style="dim italic")
        self.add_row(hint, *([""] * (len(COLUMNS) - 1)), key=HINT_KEY)

    def _row_of(self, path: str | None) -> int | None:
        if path is None:
            return None
        while True:
            if path in self._paths:
                return self._paths.index(path)
            if not path:
                return None
            path = path.rpartition(".")[0]  # a parameter or a container: try its owner

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None or key == HINT_KEY:
            return
        event.stop()
        self.post_message(PathSelected(key.partition("#")[0], "module"))


def _cells(probe: ModuleProbe) -> tuple[Text | str, ...]:
    """The row of one module call, in ``COLUMNS`` order."""
    out = probe.output
    fraction = probe.dead_fraction if probe.dead_fraction is not None else probe.saturation
    return (
        probe.path or "(model)",
        shape(probe.output_shape),
        value_text(out.mean, NUM_WIDTH),
        value_text(out.std, NUM_WIDTH),
        value_text(probe.grad_norm, NUM_WIDTH),
        Text(sci(probe.update_ratio), style=ratio_style(probe.update_ratio)),
        Text(percent(fraction), style=fraction_style(fraction)),
        nonfinite_text(out.nonfinite),
        probe.type_name,
    )
