"""One row per module call of the forward pass, with the step's activation and gradient probes.

Rows are added once (on the first step, or if the forward order ever changes); afterwards cells
are updated in place with ``update_width=False``, so a step costs no re-measuring. Only the rows
on screen are updated per step; the others catch up when scrolled into view, so a model with
a thousand layers costs a screenful of cell updates per step, not a thousand rows.

While a batch is stepped into by layers or phases (``l``, ``p``), the rows of the modules that
already ran in this batch show the batch's own numbers from ``stepper.layer_events``: output
shape, mean, std and NaN/Inf count of their forward (marked ``FORWARD_MARK`` and drawn in
``FRESH``), and ``BACKWARD_MARK`` once the gradient flowed back through them, with the norm of
their parameters' gradient once it is final. Update:data and dead/saturated can only be known
after the update: they stay the last step's, dimmed. Before the first step, the forward so far
is all the table shows.
"""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual.widgets import DataTable

from scratchai.engine import LayerEvent, ModuleProbe, Stepper, StepRecord

from ..messages import PathSelected
from .format import (
    CHECK_FAILED,
    fraction_style,
    nonfinite_text,
    percent,
    ratio_style,
    sci,
    shape,
    value_text,
)

#: (key, header, width). Widths are set when rows are added, so in-place updates never need
#: re-measuring; each includes the one-cell gap to the next column (no cell padding). The layer
#: and type columns widen to the longest name (``column_widths``); the widths here are their
#: least. Identity first, then the most telling, so a narrow pane shows them without scrolling.
COLUMNS = (
    ("path", "layer", 9),
    ("type", "type", 7),
    ("shape", "out shape", 10),
    ("mean", "mean", 8),
    ("std", "std", 8),
    ("grad", "|grad|", 8),
    ("ratio", "upd:data", 9),
    ("dead", "dead/sat", 9),
    ("nonfinite", "nan/inf", 7),
)
#: Width of the whole table: what the layers panel needs to show every column.
TABLE_WIDTH = sum(width for _, _, width in COLUMNS)
#: The most rows the panel shows at once (more scroll). Its height is the model's number of
#: layers, known from its structure before the first step, so it does not jump as rows appear
#: (``l`` before the first step reveals them one by one) or the content changes.
MAX_ROWS = 11
#: Lines of the panel besides its rows: the header and the top and bottom border.
CHROME_LINES = 3
NUM_WIDTH = 7
HINT_KEY = "__no_step__"
#: Layer-column marks of a module that ran forward / passed its gradient back in this batch.
FORWARD_MARK = "▸"
BACKWARD_MARK = "◂"
#: Style of a number measured on the batch in progress (not yet a completed step).
FRESH = "bold yellow"

_WIDTH = {key: width for key, _, width in COLUMNS}

#: What each row was last drawn from: (step record, forward event, backward event).
_Drawn = tuple[StepRecord | None, LayerEvent | None, LayerEvent | None]


class LayerTable(DataTable):
    """The layer table of issue 4: output shape, activation stats, dead/saturated fraction, grad
    norm, update:data ratio (coloured against 1e-3) and non-finite count per module call.

    Args:
        stepper: the engine whose steps this shows.
    """

    DEFAULT_CSS = """
    LayerTable { overflow-x: auto; overflow-y: auto; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", True)
        kwargs.setdefault("cell_padding", 0)
        super().__init__(**kwargs)
        for key, header, width in COLUMNS:
            self.add_column(header, key=key, width=width)
        #: row key of each module call, in forward order ('path' or 'path#2' for a re-use)
        self.row_keys: tuple[str, ...] = ()
        self._paths: tuple[str, ...] = ()
        self._labels: tuple[str, ...] = ()  # the paths as shown: 'block #2' for a second call
        self._rows_of: dict[str, list[int]] = {}  # path -> its rows, in forward order
        self._record: StepRecord | None = None
        self._events: tuple[LayerEvent, ...] = ()
        self._mid_batch = False
        #: per row: this batch's forward / backward event (None if it has not run yet)
        self.forward_events: list[LayerEvent | None] = []
        self.backward_events: list[LayerEvent | None] = []
        self._drawn: list[_Drawn | None] = []  # what each row was last drawn from
        self._highlighted: str | None = None
        #: each column's width now (the layer and type columns follow the names and the room)
        self.widths = dict(_WIDTH)
        self._marked: dict[str, bool] = {}  # path -> the backward check's verdict drawn
        self._crossed = False  # a backward failed its check: the type column has room for ✗
        #: rows the panel's height is made for: the model's layers, grown if more are called
        self.rows_wanted = expected_rows(stepper)
        self._set_height()
        self._show_hint()
        self.refresh_from(stepper)

    # ------------------------------------------------------------------ the widget contract
    def refresh_from(self, stepper: Stepper) -> None:
        """Show the latest step's module probes, and this batch's layers so far (in place);
        a module whose backward failed the backward check gets a red cross on its type."""
        self._refresh(stepper)
        self._mark_checks(stepper)

    def _mark_checks(self, stepper: Stepper) -> None:
        crossed = any(
            not check.passed
            for path, check in stepper.backward_checks.items()
            if path in self._rows_of
        )
        if crossed != self._crossed and self._paths:  # one cell more for a cross: "✗MyReLU"
            self._crossed = crossed
            self._rebuild(self._paths)
            self._match_events(self._events)
            self._draw_visible()
        for path, check in stepper.backward_checks.items():
            if self._marked.get(path) == check.passed or path not in self._rows_of:
                continue
            self._marked[path] = check.passed
            text = (
                Text(fit(check.type_name, "type", self.widths["type"]))
                if check.passed
                else Text(
                    fit(f"{CHECK_FAILED}{check.type_name}", "type", self.widths["type"]),
                    style="bold red",
                )
            )
            for i in self._rows_of[path]:
                self.update_cell(self.row_keys[i], "type", text, update_width=False)

    def _refresh(self, stepper: Stepper) -> None:
        record = stepper.last_step
        mid_batch = stepper.mid_batch
        events = stepper.layer_events if mid_batch else ()
        if record is self._record and events is self._events and mid_batch == self._mid_batch:
            return
        self._record, self._events, self._mid_batch = record, events, mid_batch
        self._set_subtitle(stepper)
        forward = tuple(e for e in events if e.direction == "forward")
        if record is None:  # no step yet (or rewound to the start): only this batch's forward
            paths = tuple(e.path for e in forward)
            if not paths:
                self._show_hint()
                return
        else:
            paths = tuple(m.path for m in record.modules)
        if paths != self._paths:
            self._rebuild(paths)
        self._match_events(events)
        self._draw_visible()

    def _set_subtitle(self, stepper: Stepper) -> None:
        """Say where the numbers come from while a batch is in progress."""
        self.border_subtitle = ""
        record = self._record
        if record is not None and not record.layers_fresh:  # a run measures them every few steps
            self.border_subtitle = f"layer numbers of step {record.layers_step}"
        if not self._mid_batch:
            return
        directions = {e.direction for e in self._events}
        parts = []
        if "forward" in directions:
            parts.append(f"{FORWARD_MARK} ran forward")
        if "backward" in directions:
            parts.append(f"{BACKWARD_MARK} gradient flowed back")
        if self._record is None:
            self.border_subtitle = "; ".join(parts)
        elif parts:
            old = "dim" if "forward" in directions else "the rest"
            parts.append(f"yellow: this batch, {old}: step {stepper.step}")
            self.border_subtitle = "; ".join(parts)
        else:
            self.border_subtitle = f"batch in progress: numbers of step {stepper.step}"

    def _match_events(self, events: tuple[LayerEvent, ...]) -> None:
        """Give each row its forward and backward event of this batch, if it had them.

        The k-th forward call of a module is its k-th row; the backward runs in reverse, so its
        k-th backward call is its k-th row from the end.
        """
        n = len(self.row_keys)
        self.forward_events = [None] * n
        self.backward_events = [None] * n
        seen_forward: dict[str, int] = {}
        seen_backward: dict[str, int] = {}
        for event in events:
            rows = self._rows_of.get(event.path)
            if not rows:
                continue
            if event.direction == "forward":
                k = seen_forward[event.path] = seen_forward.get(event.path, 0) + 1
                if k <= len(rows):
                    self.forward_events[rows[k - 1]] = event
            else:
                k = seen_backward[event.path] = seen_backward.get(event.path, 0) + 1
                if k <= len(rows):
                    self.backward_events[rows[-k]] = event

    def _draw_visible(self) -> None:
        """Bring the rows on screen (and a small margin) up to the current record and batch."""
        record = self._record
        if not self.row_keys:
            return
        height = self.size.height
        if height <= 0:  # not laid out yet: everything may be visible
            rows = range(len(self.row_keys))
        else:
            top = round(self.scroll_y)
            rows = range(max(top - 2, 0), min(top + height + 2, len(self.row_keys)))
        for i in rows:
            drawn = (record, self.forward_events[i], self.backward_events[i])
            old = self._drawn[i]
            if old is not None and all(a is b for a, b in zip(old, drawn, strict=True)):
                continue
            self._drawn[i] = drawn
            probe = record.modules[i] if record is not None else None
            cells = _cells(self._labels[i], probe, *drawn[1:], widths=self.widths)
            key = self.row_keys[i]
            # the type never changes for a row; the other cells follow the step and the batch
            for (column, _, _), value in zip(COLUMNS, cells, strict=True):
                if column != "type":
                    self.update_cell(key, column, value, update_width=False)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._draw_visible()

    def on_resize(self) -> None:
        if self._paths and self.column_widths(self._paths) != self.widths:
            self._rebuild(self._paths)  # more or less room for the names
        self._set_height()
        self._draw_visible()

    def _set_height(self) -> None:
        """The panel's height: ``rows_wanted`` rows (at most ``MAX_ROWS``), plus a line for
        the horizontal scrollbar when the columns are wider than the room. It changes when
        the model calls more layers than it has (a module called twice) or the width does,
        never with the numbers. (A narrow terminal's one panel fills the screen: app.tcss.)"""
        if self.is_mounted and self.screen.has_class("-narrow"):
            if self.styles.has_rule("height"):
                self.styles.clear_rule("height")  # app.tcss: the whole main area
                self.refresh(layout=True)
            return
        room = self.size.width
        scrollbar = 1 if 0 < room < sum(self.widths.values()) else 0
        height = min(max(self.rows_wanted, 1), MAX_ROWS) + CHROME_LINES + scrollbar
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height

    def column_widths(self, paths: tuple[str, ...]) -> dict[str, int]:
        """Widths that show every layer name and type whole, as long as a name takes at most
        half the table's width; only then is a name cut (keeping its end: see ``fit_path``)."""
        record = self._record
        types = (
            [m.type_name for m in record.modules]
            if record is not None
            else [e.type_name for e in self._events]
        )
        widths = dict(_WIDTH)
        longest = max(map(len, types), default=0) + (1 if self._crossed else 0)  # "✗MyReLU"
        widths["type"] = max(_WIDTH["type"], min(longest + 1, 17))
        need = max((len(p or "(model)") for p in call_labels(paths)), default=0) + 2  # mark, gap
        room = self.size.width
        if room <= 0:  # not laid out yet
            widths["path"] = max(_WIDTH["path"], need)
            return widths
        rest = sum(widths.values()) - widths["path"]
        widths["path"] = max(_WIDTH["path"], min(need, max(room - rest, room // 2)))
        return widths

    def highlight(self, path: str | None) -> None:
        """Move the row cursor to the first call of the module ``path`` names.

        A parameter path ('0.W') selects the row of its module ('0').
        """
        self._highlighted = path
        row = self._row_of(path)
        if row is not None and self.cursor_row in self._rows_of.get(path or "", ()):
            return  # already on a call of it (enter on a second call stays there)
        if row is not None:
            self.move_cursor(row=row)

    # ------------------------------------------------------------------ internals
    def _rebuild(self, paths: tuple[str, ...]) -> None:
        """(Re)create every row: the first step, a forward pass whose order changed, or
        names that need other widths."""
        widths = self.column_widths(paths)
        if widths != self.widths:
            self.widths = widths
            self.clear(columns=True)
            for key, header, _ in COLUMNS:
                self.add_column(header, key=key, width=widths[key])
        # forget the rows first: clear() scrolls to the top, which draws the visible rows
        self.row_keys, self._drawn = (), []
        self.clear()
        record = self._record
        types = (
            [m.type_name for m in record.modules]
            if record is not None
            else [e.type_name for e in self._events if e.direction == "forward"]
        )
        seen: dict[str, int] = {}
        keys = []
        self._rows_of = {}
        self._labels = call_labels(paths)
        for i, (path, type_name) in enumerate(zip(paths, types, strict=True)):
            seen[path] = seen.get(path, 0) + 1
            key = path if seen[path] == 1 else f"{path}#{seen[path]}"
            keys.append(key)
            self._rows_of.setdefault(path, []).append(i)
            label = self._labels[i]
            self.add_row(*_cells(label, None, None, None, type_name, self.widths), key=key)
        self.row_keys = tuple(keys)
        if len(keys) > self.rows_wanted:  # a module called more than once: grow, never shrink
            self.rows_wanted = len(keys)
            self._set_height()
        self._marked = {}  # the rows are new: marks go on again
        self._drawn = [None] * len(keys)
        self._paths = paths
        if self._highlighted is not None:
            self.highlight(self._highlighted)

    def _show_hint(self) -> None:
        # forget the rows first: clear() scrolls to the top, and drawing the visible rows then
        # must find none (it found the old keys of rows already gone: CellDoesNotExist)
        self.row_keys, self._paths, self._drawn, self._rows_of = (), (), [], {}
        self.forward_events, self.backward_events = [], []
        self.clear()
        # The columns touch (no cell padding): the hint reads on across them.
        hint, cells = " no step yet: n trains a batch, l steps into it layer by layer", []
        for key, _, _ in COLUMNS:
            width = self.widths[key]
            cells.append(Text(hint[:width], style="dim italic"))
            hint = hint[width:]
        self.add_row(*cells, key=HINT_KEY)

    def _row_of(self, path: str | None) -> int | None:
        if path is None:
            return None
        while True:
            if path in self._rows_of:
                return self._rows_of[path][0]
            if not path:
                return None
            path = path.rpartition(".")[0]  # a parameter or a container: try its owner

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None or key == HINT_KEY:
            return
        event.stop()
        path, _, call = key.partition("#")  # 'path#2': the module's second call
        self.post_message(PathSelected(path, "module", call=int(call or 1)))


def _cells(
    path: str,
    probe: ModuleProbe | None,
    forward: LayerEvent | None,
    backward: LayerEvent | None,
    type_name: str = "",
    widths: dict[str, int] | None = None,
) -> tuple[Text | str, ...]:
    """The row of one module call, in ``COLUMNS`` order.

    ``probe`` is the last step's; ``forward``/``backward`` are this batch's events, if the
    module ran already: they replace the columns they measure and mark the row. The type is
    written once, when the row is added (``type_name``).
    """
    mark = BACKWARD_MARK if backward is not None else FORWARD_MARK if forward is not None else " "
    layer = Text(mark, style=FRESH)
    widths = widths or _WIDTH
    layer.append(fit_path(path or "(model)", widths["path"]))
    fraction = grad = ratio = None
    if probe is not None:
        fraction = probe.dead_fraction if probe.dead_fraction is not None else probe.saturation
        grad, ratio = probe.grad_norm, probe.update_ratio
    stale = "dim" if forward is not None else ""  # the last step's, next to this batch's
    cells: dict[str, Text | str] = {
        "path": layer,
        "type": fit(type_name, "type", widths["type"]),
        "shape": fit(shape(probe.output_shape), "shape") if probe is not None else "-",
        "mean": value_text(probe.output.mean if probe else None, NUM_WIDTH),
        "std": value_text(probe.output.std if probe else None, NUM_WIDTH),
        "grad": value_text(grad, NUM_WIDTH, style=stale),
        "ratio": Text(sci(ratio), style=f"{ratio_style(ratio)} {stale}".strip()),
        "dead": Text(percent(fraction), style=f"{fraction_style(fraction)} {stale}".strip()),
        "nonfinite": nonfinite_text(probe.output.nonfinite) if probe else Text("-", style="dim"),
    }
    if forward is not None:
        stats = forward.stats
        cells["shape"] = Text(fit(shape(forward.output_shape), "shape"), style=FRESH)
        cells["mean"] = value_text(stats.mean, NUM_WIDTH, style=FRESH)
        cells["std"] = value_text(stats.std, NUM_WIDTH, style=FRESH)
        bad = "bold red" if stats.nonfinite else FRESH
        cells["nonfinite"] = Text(str(stats.nonfinite), style=bad)
    if backward is not None and backward.grad_norm is not None:
        cells["grad"] = value_text(backward.grad_norm, NUM_WIDTH, style=FRESH)
    return tuple(cells[key] for key, _, _ in COLUMNS)


def call_labels(paths: tuple[str, ...]) -> tuple[str, ...]:
    """Each call's name in the path column: a module called more than once in the forward
    gets its call number ('block #1', 'block #2'), as its rows' numbers are each call's own
    (its gradient is the sum of all its calls': the inspector shows each call's part)."""
    totals = Counter(paths)
    seen: Counter[str] = Counter()
    labels = []
    for path in paths:
        seen[path] += 1
        labels.append(f"{path or '(model)'} #{seen[path]}" if totals[path] > 1 else path)
    return tuple(labels)


def expected_rows(stepper: Stepper) -> int:
    """How many rows the model's forward will have: its modules without children (each called
    once, as most are), or 1 for a model that is one module."""
    paths = [info.path for info in stepper.structure()]
    parents = {path.rpartition(".")[0] for path in paths if path}
    return max(sum(1 for path in paths if path not in parents), 1)


def fit_path(path: str, width: int = _WIDTH["path"]) -> str:
    """A module path cut from the left, after the row's mark, when its column has no room:
    its last names tell siblings apart ('encoder.layers.11' -> '…ers.11'); the inspector
    shows the whole path."""
    room = width - 2  # the mark, and a one-cell gap before the next column
    return path if len(path) <= room else "…" + path[-(room - 1) :]


def fit(text: str, column: str, width: int | None = None) -> str:
    """``text`` cut to leave a one-cell gap before the next column ('BatchNorm1d' -> 'BatchN…')."""
    room = (width or _WIDTH[column]) - 1
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"
