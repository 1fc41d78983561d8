"""Training loss per step and validation loss/accuracy per epoch, drawn with block characters.

Non-finite values are never dropped: a step whose loss is NaN or Inf is drawn as a red 'x' at
the top of its column, and the title counts them.
"""

from __future__ import annotations

import math

import numpy as np
from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

from scratchai.engine import EpochRecord, Stepper

from .format import num, percent

BLOCKS = " ▁▂▃▄▅▆▇█"  # index = eighths of a cell filled
SPARK = "▁▂▃▄▅▆▇█"
BAD = "bold red"
GUTTER = 8  # y-axis labels


class LossCharts(Widget):
    """A column chart of the training loss and one-line sparklines of the epochs' validation.

    Args:
        stepper: the engine whose history this shows.
    """

    DEFAULT_CSS = """
    LossCharts { height: 8; min-height: 3; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        super().__init__(**kwargs)
        self.steps = np.empty(0)
        self.loss = np.empty(0)
        self.epochs: tuple[EpochRecord, ...] = ()
        self.refresh_from(stepper)

    def refresh_from(self, stepper: Stepper) -> None:
        """Take the engine's (bounded, already downsampled) history and redraw."""
        arrays = stepper.history.arrays()
        self.steps, self.loss = arrays["step"], arrays["loss"]
        self.epochs = stepper.epochs
        self.refresh()

    def highlight(self, path: str | None) -> None:
        """Charts are per model, not per layer: nothing to mark."""

    def render(self) -> RenderableType:
        width, height = self.content_size.width, self.content_size.height
        lines = [self._title()]
        if height >= 3:
            lines += plot_lines(self.loss, max(width, GUTTER + 2), height - 2)
        lines.append(self._validation(width))
        for line in lines:  # a wrapped title would push the plot's rows out of view
            line.truncate(max(width, 1), overflow="ellipsis")
        return Text("\n").join(lines[: max(height, 1)])

    # ------------------------------------------------------------------ pieces
    def _title(self) -> Text:
        title = Text("train loss", style="bold")
        if not self.loss.size:
            return title.append("  no step yet", style="dim")
        title.append("  last ")
        title.append(num(float(self.loss[-1])), style="" if np.isfinite(self.loss[-1]) else BAD)
        finite = self.loss[np.isfinite(self.loss)]
        bad = self.loss.size - finite.size
        if bad:
            title.append(f"  {bad} non-finite (x)", style=BAD)
        if finite.size:
            title.append(f"  min {num(float(finite.min()))}")
        title.append(f"  steps {self.steps[0]:.0f}-{self.steps[-1]:.0f}", style="dim")
        return title

    def _validation(self, width: int) -> Text:
        if not self.epochs:
            return Text("validation: after the first epoch", style="dim")
        room = max((width - 40) // 2, 4)
        recent = self.epochs[-room:]
        line = Text("val loss ", style="bold")
        line.append_text(sparkline([e.val_loss for e in recent]))
        line.append(f" {num(recent[-1].val_loss)}")
        accuracy = [e.val_accuracy for e in recent]
        if any(a is not None for a in accuracy):
            line.append("  acc ", style="bold")
            line.append_text(sparkline(accuracy))
            line.append(f" {percent(recent[-1].val_accuracy)}")
        line.append(f"  epoch {recent[-1].epoch + 1}", style="dim")
        return line


def plot_lines(values: np.ndarray, width: int, rows: int) -> list[Text]:
    """A column chart of ``values`` (oldest left) in ``rows`` lines of ``width`` cells.

    When there are more values than columns, each column shows the mean of its bucket (a
    display binning); a bucket holding any NaN/Inf is drawn as a red 'x' column instead.
    Vectorised: a refresh after a long run costs a few NumPy calls, not a call per cell.
    """
    columns = max(width - GUTTER, 1)
    heights = _bucket_means(values, min(columns, values.size)) if values.size else np.empty(0)
    finite_mask = np.isfinite(heights)
    finite = heights[finite_mask]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    log = lo > 0 and hi / lo > 100  # a loss spike would flatten a linear axis
    eighths = _eighths(np.where(finite_mask, heights, lo), lo, hi, log, rows * 8)
    blocks = np.array(list(BLOCKS))
    bad_runs = _runs(~finite_mask)

    lines = []
    for r in range(rows):
        label = num(hi, GUTTER - 1) if r == 0 else num(lo, GUTTER - 1) if r == rows - 1 else ""
        axis = "┤" if label else "│"
        if log and r == rows // 2 and rows > 2:
            label = "log"
        line = Text(f"{label:>{GUTTER - 1}}{axis}", style="dim")
        floor = (rows - 1 - r) * 8
        cells = blocks[np.clip(eighths - floor, 0, 8)]
        cells[~finite_mask] = "x" if r == 0 else "│"
        row = "".join(cells.tolist())
        for start, stop, bad in bad_runs:
            line.append(row[start:stop], style=BAD if bad else "cyan")
        lines.append(line)
    return lines


def _bucket_means(values: np.ndarray, count: int) -> np.ndarray:
    """Means of ``count`` consecutive, near-equal buckets of ``values`` (NaN/Inf propagate)."""
    edges = np.linspace(0, values.size, count + 1).astype(np.int64)
    with np.errstate(all="ignore"):  # inf - inf in a bucket is NaN: non-finite either way
        return np.add.reduceat(values, edges[:-1]) / np.diff(edges)


def _eighths(heights: np.ndarray, lo: float, hi: float, log: bool, levels: int) -> np.ndarray:
    """Bar heights in eighths, 1..levels (the minimum still shows a sliver)."""
    if log:
        heights, lo, hi = np.log10(heights), math.log10(lo), math.log10(hi)
    span = hi - lo
    frac = (heights - lo) / span if span > 0 else np.full(heights.shape, 0.5)
    return 1 + np.rint(frac * (levels - 1)).astype(np.int64)


def _runs(mask: np.ndarray) -> list[tuple[int, int, bool]]:
    """(start, stop, value) of each run of equal values in a boolean array."""
    if not mask.size:
        return []
    cuts = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    starts = [0, *cuts.tolist()]
    stops = [*cuts.tolist(), mask.size]
    return [(a, b, bool(mask[a])) for a, b in zip(starts, stops, strict=True)]


def sparkline(values: list[float | None]) -> Text:
    """One character per value; None is a gap, NaN/Inf a red 'x'."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    text = Text()
    for v in values:
        if v is None:
            text.append(" ")
        elif not math.isfinite(v):
            text.append("x", style=BAD)
        else:
            level = round((v - lo) / (hi - lo) * 7) if hi > lo else 3
            text.append(SPARK[level], style="cyan")
    return text
