"""Details of one parameter, buffer or module: summary, histograms, heatmap, owners, probes.

Everything shown comes from ``stepper.views.inspect(path)`` and, while a batch is stepped by
layers or phases, from ``stepper.layer_events``; the widget only lays it out and colours it
(the heatmap's colour scale is taken from the engine's downsampled matrix). It keeps showing
what the user selected: stepping layers marks the active module in the tree and the table,
not here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from rich.color import Color
from rich.columns import Columns
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from scratchai.engine import Histogram, Inspection, LayerEvent, ModuleInfo, Stats, Stepper
from scratchai.engine.checks import ModuleCheck

from .format import SHARED_MARK, count, num, percent, ratio_style, sci, shape
from .registries import registry_parts

BLOCKS = " ▁▂▃▄▅▆▇█"
HIST_ROWS = 4
NEUTRAL = (48, 48, 48)  # zero on the diverging scale: dark grey, visible on dark themes
NEGATIVE = (60, 130, 230)
POSITIVE = (230, 70, 60)
NONFINITE = Style(color="bright_magenta", bgcolor="black", bold=True)


class Inspector(VerticalScroll):
    """Shows whatever path was selected last; follows the stepper on every refresh.

    Args:
        stepper: the engine to ask for inspections.
    """

    DEFAULT_CSS = """
    Inspector { height: 1fr; }
    Inspector > #inspector-body { width: 1fr; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        super().__init__(**kwargs)
        self._stepper = stepper
        self._modules = {info.path: info for info in stepper.structure()}
        self._persistent = {
            b.path: b.persistent for info in self._modules.values() for b in info.buffers
        }
        #: the path on display (None before anything was selected)
        self.path: str | None = None
        #: which call of a module used several times in the forward (1-based)
        self.call = 1
        self.body = Static(
            Text("select a module, parameter or buffer", style="dim"), id="inspector-body"
        )

    def compose(self):
        yield self.body

    # ------------------------------------------------------------------ the widget contract
    def show(self, path: str, call: int = 1) -> None:
        """Inspect ``path`` (a module, parameter or buffer) and keep following it; for a
        module called several times in the forward, its ``call``-th call."""
        self.path, self.call = path, call
        self._draw()

    def refresh_from(self, stepper: Stepper) -> None:
        self._stepper = stepper
        if self.path is not None:
            self._draw()

    def highlight(self, path: str | None) -> None:
        """A warning or a pause names ``path``: show it (None keeps the current one).

        The app does not call this for the layer being stepped: the user's selection stays.
        """
        if path is not None and path != self.path:
            self.show(path)

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        assert self.path is not None
        try:
            inspection = self._stepper.views.inspect(self.path, self.call)
        except KeyError as exc:
            self.body.update(Text(str(exc.args[0] if exc.args else exc), style="red"))
            return
        batch = self._batch_events(self.path, self.call)
        self.body.update(self.render_inspection(inspection, batch, self._calls(self.path)))

    def _batch_events(
        self, path: str, call: int = 1
    ) -> tuple[LayerEvent | None, LayerEvent | None]:
        """The forward and backward event of the ``call``-th call of ``path`` in the batch in
        progress (the backward runs in reverse: its k-th event is the k-th call from the end)."""
        stepper = self._stepper
        if not stepper.mid_batch:
            return None, None
        events = [e for e in stepper.layer_events if e.path == path]
        forward = [e for e in events if e.direction == "forward"]
        backward = [e for e in events if e.direction == "backward"]
        calls = max(self._calls(path), len(forward))
        back = calls - call  # index of this call's backward event
        return (
            forward[call - 1] if call <= len(forward) else None,
            backward[back] if 0 <= back < len(backward) else None,
        )

    def _calls(self, path: str) -> int:
        """How many times the last step's forward called the module ``path``."""
        record = self._stepper.last_step
        return sum(m.path == path for m in record.modules) if record is not None else 1

    def render_inspection(
        self,
        ins: Inspection,
        batch: tuple[LayerEvent | None, LayerEvent | None] = (None, None),
        calls: int = 1,
    ) -> RenderableType:
        """The whole panel for one inspection, as a Rich renderable.

        ``batch``: the module's forward and backward event in the batch in progress, if any;
        ``calls``: how often the forward calls the module (the header says which call this is).
        """
        header = _header(ins, self._persistent.get(ins.path))
        if ins.kind == "module" and calls > 1:
            header.append(f"  call {self.call} of {calls}", style="bold magenta")
        parts: list[RenderableType] = [header]
        if ins.kind == "module":
            info = self._modules.get(ins.path)
            parts += _module_parts(ins, info, batch, self._stepper.step, self._modules.values())
            check = self._stepper.backward_checks.get(ins.path)
            if check is not None:
                parts += [Text(), *_check_parts(check)]
            return Group(*parts)
        if len(ins.owners) > 1:
            parts.append(
                Text(f"{SHARED_MARK} shared by: " + ", ".join(ins.owners), style="bold cyan")
            )
        if ins.contributions:
            parts += _share_parts(ins, self._stepper)
        parts.append(_stats_line("values", ins.summary))
        hists = [histogram_block("values", ins.value_hist)]
        if ins.grad_summary is not None:
            parts.append(_stats_line("grads ", ins.grad_summary))
            hists.append(histogram_block("grads", ins.grad_hist))
        elif ins.kind == "parameter":
            parts.append(Text(NO_GRAD, style="dim"))
        # Side by side when they fit, stacked in a narrow pane.
        parts += [Text(), Columns(hists, padding=(1, 3))]
        if ins.heatmap is not None and ins.heatmap.size:
            parts += [Text(), Heatmap(ins.heatmap, ins.shape)]
        return Group(*parts)


#: A parameter whose gradient was cleared (a new batch began, or a rewind) and not computed yet.
NO_GRAD = (
    "grads   none since the last zero_grad (a new batch or a rewind): the next backward fills them"
)


def _share_parts(ins: Inspection, stepper: Stepper) -> list[Text]:
    """Each owner's (and each call's) part of the gradient in the last step, then the sum."""
    step = stepper.last_step
    lines = [Text(f"gradient by use (step {step.step if step else '-'}):", style="bold")]
    for share in ins.contributions:
        who = share.owner + (f" (call {share.call} of {share.calls})" if share.calls > 1 else "")
        line = Text(f"  {who:<24} |g| {num(share.norm, 7)}  ")
        line.append(f"mean {num(share.stats.mean, 7)}  std {num(share.stats.std, 7)}", "dim")
        lines.append(line)
    total = next((p for p in step.params if p.path == ins.owners[0]), None) if step else None
    if total is not None:
        lines.append(Text(f"  {'sum (the gradient)':<24} |g| {num(total.grad_norm, 7)}", "bold"))
    return lines


def _check_parts(check: ModuleCheck) -> list[Text]:
    """The module's last backward check: the error per tensor, the verdict, what is wrong."""
    if check.skipped:
        return [Text(f"backward check: not checked: {check.skipped}", style="dim")]
    if check.raised:
        return [Text(f"backward check: could not finish: {check.raised}", style="red")]
    verdict = ("ok", "bold green") if check.passed else ("FAIL", "bold red")
    line = Text.assemble(("backward check ", "bold"), verdict)
    errors = ", ".join(f"{t.name} {t.max_rel_error:.1e}" for t in check.tensors)
    line.append(f"  max relative error {errors} (tolerance {check.tolerance:g})")
    return [line, *(Text(f"  {problem}", style="red") for problem in check.problems)]


def _header(ins: Inspection, persistent: bool | None) -> Text:
    line = Text.assemble((ins.path or "(model)", "bold"), "  ", (ins.kind, "magenta"))
    if ins.kind == "buffer" and persistent is False:
        line.append(" non-persistent", style="yellow")
    if ins.kind != "module":
        line.append(f"  {shape(ins.shape)}  {count(ins.size)}  {ins.dtype}")
    else:
        line.append(f"  {count(ins.size)} own parameters")
    return line


def _stats_line(name: str, stats: Stats | None) -> Text:
    """The one-line summary: min/max, mean, std, NaN/Inf count."""
    line = Text(f"{name} ", style="bold")
    if stats is None:
        return line.append("-", style="dim")
    line.append(f"{num(stats.min, 7)}..{num(stats.max, 7)}  ")
    line.append(f"mean {num(stats.mean, 7)}  std {num(stats.std, 7)}  ")
    line.append(f"nan/inf {stats.nonfinite}", style="bold red" if stats.nonfinite else "dim")
    return line


def _batch_parts(forward: LayerEvent | None, backward: LayerEvent | None) -> list[Text]:
    """What the module did so far in the batch in progress (stepping layers or phases)."""
    if forward is None and backward is None:
        return []
    parts = [Text("this batch (in progress)", style="bold yellow")]
    if forward is not None:
        parts.append(
            Text(f"input {shape(forward.input_shape)}  ->  output {shape(forward.output_shape)}")
        )
        parts.append(_stats_line("output", forward.stats))
    if backward is not None:
        parts.append(
            Text(
                f"grad from output {shape(backward.input_shape)}"
                f"  ->  grad to input {shape(backward.output_shape)}"
            )
        )
        parts.append(_stats_line("grad to input", backward.stats))
        if backward.grad_norm is not None:
            parts.append(Text(f"|grad| of its parameters {num(backward.grad_norm)}"))
    return parts


def _module_parts(
    ins: Inspection,
    info: ModuleInfo | None,
    batch: tuple[LayerEvent | None, LayerEvent | None] = (None, None),
    step: int = 0,
    modules: Iterable[ModuleInfo] = (),
) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if info is not None:
        type_line = Text(info.type_name, style="magenta")
        if info.extra_repr:
            type_line.append(f"({info.extra_repr})")
        parts.append(type_line)
    current = _batch_parts(*batch)
    parts += current
    probe = ins.module
    if probe is None:
        if not current:
            parts.append(Text("no forward probe yet (take a step, or not a leaf module)", "dim"))
    else:
        if current:
            parts.append(Text(f"last step (step {step})", style="bold"))
        parts.append(
            Text(f"input {shape(probe.input_shape)}  ->  output {shape(probe.output_shape)}")
        )
        parts.append(_stats_line("output", probe.output))
        extra = Text()
        if probe.dead_fraction is not None:
            extra.append(f"dead {percent(probe.dead_fraction)}  ")
        if probe.saturation is not None:
            extra.append(f"saturated {percent(probe.saturation)}  ")
        if probe.grad_norm is not None:
            extra.append(f"|grad| {num(probe.grad_norm)}  ")
        if probe.update_ratio is not None:
            extra.append("upd:data ")
            extra.append(sci(probe.update_ratio), style=ratio_style(probe.update_ratio))
        if extra:
            parts.append(extra)
    if info is not None:  # the module's three dictionaries, by their real names
        parts += [Text(), *registry_parts(info, modules)]
    return parts


def histogram_block(title: str, hist: Histogram | None) -> RenderableType:
    """Bins as columns of block characters, ``HIST_ROWS`` high, with the edge values below."""
    if hist is None or not hist.counts:
        return Text(f"{title}: no finite values", style="dim")
    peak = max(hist.counts) or 1
    heights = [round(c / peak * HIST_ROWS * 8) for c in hist.counts]
    # A non-empty bin shows at least a sliver, so isolated outliers stay visible.
    heights = [max(h, 1) if c else 0 for h, c in zip(heights, hist.counts, strict=True)]
    lines = [Text(f"{title}  (peak {count(peak)})", style="bold")]
    for r in range(HIST_ROWS):
        floor = (HIST_ROWS - 1 - r) * 8
        lines.append(
            Text("".join(BLOCKS[min(max(h - floor, 0), 8)] for h in heights), style="green")
        )
    lo, hi = num(hist.edges[0]), num(hist.edges[-1])
    width = len(hist.counts)
    lines.append(Text(lo + hi.rjust(max(width - len(lo), len(hi) + 1)), style="dim"))
    return Text("\n").join(lines)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> Color:
    return Color.from_rgb(*(round(x + (y - x) * t) for x, y in zip(a, b, strict=True)))


class Heatmap:
    """A matrix as coloured half blocks: two matrix rows per line, blue < 0 < red.

    Columns beyond the available width are skipped evenly (a rendering choice; the engine
    already block-averaged the matrix to at most its heatmap shape).
    """

    def __init__(self, matrix: np.ndarray, original_shape: tuple[int, ...]) -> None:
        self.matrix = matrix
        self.original_shape = original_shape
        finite = matrix[np.isfinite(matrix)]
        self.scale = float(np.abs(finite).max()) if finite.size else 0.0

    def _style(self, value: float) -> Color | None:
        if not math.isfinite(value):
            return None
        t = min(abs(value) / self.scale, 1.0) if self.scale > 0 else 0.0
        return _mix(NEUTRAL, POSITIVE if value > 0 else NEGATIVE, t)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows, cols = self.matrix.shape
        keep = np.arange(cols)
        if cols > options.max_width:
            keep = np.linspace(0, cols - 1, options.max_width).round().astype(int)
        title = Text.assemble(
            ("heatmap ", "bold"), f"{shape(self.original_shape)} as {rows}x{len(keep)}  "
        )
        if self.scale > 0:  # the colour key: blue -scale, grey 0, red +scale
            title.append("-" + num(self.scale), Style(color=Color.from_rgb(*NEGATIVE)))
            title.append(" 0 ")
            title.append("+" + num(self.scale), Style(color=Color.from_rgb(*POSITIVE)))
        if self.matrix.size > np.isfinite(self.matrix).sum():
            title.append("  x = nan/inf", style=NONFINITE)
        yield title
        for top in range(0, rows, 2):
            for c in keep:
                upper = self.matrix[top, c]
                lower = self.matrix[top + 1, c] if top + 1 < rows else None
                if not math.isfinite(upper) or (lower is not None and not math.isfinite(lower)):
                    yield Segment("x", NONFINITE)
                    continue
                bg = self._style(lower) if lower is not None else None
                yield Segment("▀", Style(color=self._style(upper), bgcolor=bg))
            yield Segment.line()
