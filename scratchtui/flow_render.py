"""The lesson's flowchart as Rich renderables, shared by the flow panel and ``--flow``.

The engine's ``Flow`` says what each module call is and measured; this file only lays it out:
an input box, one box per call (title, formula, parameters, shapes, live numbers) joined by
arrows labelled with the shape that flows, groups for the containers, the logits and the loss.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text

from scratchai.engine import Flow, FlowGroup, FlowNode, FlowParam, Granularity, StepFailed, Stepper

from .headless import EXIT_OK, EXIT_USER_ERROR
from .widgets.format import SHARED_MARK, num, percent

#: Indentation per level of nested container (the model itself adds none).
INDENT = 2
#: Style of a number measured on the batch in progress, and of the node that just ran.
FRESH = "bold yellow"
FORWARD_MARK = "▸"
BACKWARD_MARK = "◂"


def dims(shape: Sequence[int | str]) -> str:
    """A symbolic shape as the lesson writes it: (batch, 64), (10,); () is a scalar."""
    if not shape:
        return "scalar"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def param_text(p: FlowParam) -> Text:
    """``W:(128,64)`` as the lesson writes it; a shared weight drawn elsewhere is only marked."""
    text = Text()
    if p.drawn_here:
        text.append(f"{p.name}:{dims(p.shape).replace(', ', ',')}")
    else:
        text.append(p.name)
    if p.shared_with:
        text.append(f" {SHARED_MARK} {', '.join(p.shared_with)}", style="cyan")
    return text


def node_box(node: FlowNode) -> Panel:
    """One call: title, formula, parameters, shapes, and its numbers of the last step or of
    the batch in progress (yellow)."""
    lines: list[Text] = []
    title = Text(node.title, style="bold")
    title.append(f"  {node.path}", style="dim")
    if node.calls > 1:
        title.append(f"  call {node.call} of {node.calls}", style="magenta")
    lines.append(title)
    if node.formula:
        formula = Text(node.formula, style="cyan")
        if node.elementwise:
            formula.append("  element-wise", style="dim")
        lines.append(formula)
    if node.params:
        params = Text("  ").join(param_text(p) for p in node.params)
        if node.weights_per_neuron is not None:
            params.append(f"  {node.weights_per_neuron} weights/neuron", style="green")
        lines.append(params)
    lines.append(Text(f"{dims(node.input_shape)} → {dims(node.output_shape)}"))
    lines.append(_numbers(node))
    if node.backward is not None:
        lines.append(_gradient(node))
    border = FRESH if node.active else "blue" if node.forward is not None else "bright_black"
    mark = ""
    if node.active:
        mark = BACKWARD_MARK if node.backward is not None else FORWARD_MARK
    return Panel(
        Text("\n").join(lines),
        box=box.ROUNDED,
        expand=False,
        border_style=border,
        title=Text(f"{mark} just ran", style=FRESH) if mark else None,
        title_align="right",
        padding=(0, 1),
    )


def _numbers(node: FlowNode) -> Text:
    """Output mean/std (this batch's when it ran), dead or saturated fraction, |grad|."""
    stats = node.output_stats
    fresh = FRESH if node.forward is not None else ""
    text = Text()
    if stats is None:
        return text.append("no numbers yet: n trains a batch", style="dim")
    text.append(f"mean {num(stats.mean)}  std {num(stats.std)}", style=fresh)
    if stats.nonfinite:
        text.append(f"  nan/inf {stats.nonfinite}", style="bold red")
    probe = node.probe
    if probe is not None:  # known only once the step is done: the last step's (dim mid-batch)
        stale = "dim" if node.forward is not None else ""
        if probe.dead_fraction is not None:
            text.append(f"  dead {percent(probe.dead_fraction)}", style=stale)
        if probe.saturation is not None:
            text.append(f"  saturated {percent(probe.saturation)}", style=stale)
        if probe.grad_norm is not None and node.backward is None:
            text.append(f"  |grad| {num(probe.grad_norm)}", style=stale)
            if node.calls > 1:  # one gradient for all the calls: say so, and this call's part
                mine = f"this call {num(node.call_grad)}, " if node.call_grad is not None else ""
                text.append(f" ({mine}sum of {node.calls} calls)", style=stale or "dim")
    return text


def _gradient(node: FlowNode) -> Text:
    """The gradient flowing back through the call in the batch in progress."""
    event = node.backward
    assert event is not None
    text = Text(f"{BACKWARD_MARK} |grad to input| {num(node.input_grad_norm)}", style="magenta")
    if event.grad_norm is not None:
        text.append(f"  |grad| {num(event.grad_norm)}", style=FRESH)
    elif node.calls > 1 and node.params:  # not final until every call has run its backward
        text.append(f"  |grad|: the sum of {node.calls} calls, shown after the step", style="dim")
    return text


def _arrow(label: str, indent: int, up: bool = False, origin: str = "") -> Text:
    pad = " " * (indent + 4)
    head = "▲" if up else "▼"
    text = Text(f"{pad}│ {label}", style="bright_black")
    if origin:
        text.append(f"  {origin}", style="italic")
    return text.append(f"\n{pad}{head}")


def _origin(flow: Flow, i: int) -> str:
    """Where node ``i``'s input comes from, when it is not simply the box above: another
    call's output (a branch), or code in a forward (a slice, a concatenation, a sum)."""
    node = flow.nodes[i]
    if not flow.sources or node.source == i - 1:
        return ""
    if node.source is not None:
        src = flow.nodes[node.source]
        return f"from {src.path}" + (f" (call {src.call})" if src.calls > 1 else "")
    if i == 0 and node.input_shape == flow.input_shape:
        return ""
    previous = flow.nodes[i - 1].groups if i else ()
    left = previous[max(_common(previous, node.groups), 1) :]
    where = left[0] if left else node.groups[-1] if node.groups else None
    return f"made in {where.type_name}.forward" if where is not None else "made in forward"


def _common(a: tuple[FlowGroup, ...], b: tuple[FlowGroup, ...]) -> int:
    """How many containers, from the model down, two calls share."""
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _group_footers(closing: tuple[FlowGroup, ...], staying: tuple[FlowGroup, ...]) -> list[Text]:
    """A closing line for each container the flow leaves, innermost first, with its formula
    (a residual block's sum happens here, after its children ran)."""
    footers = []
    for depth in range(len(closing) - 1, max(_common(closing, staying), 1) - 1, -1):
        group = closing[depth]
        line = Text(" " * (INDENT * (depth - 1)) + "└ ", style="bright_black")
        line.append(group.path, style="bold")
        if group.formula:
            line.append(f"  {group.formula}", style="cyan")
        footers.append(line)
    return footers


def _group_headers(node: FlowNode, previous: tuple[FlowGroup, ...]) -> list[Text]:
    """A header for each container the flow enters at this node (the model's is the title)."""
    headers = []
    for depth in range(max(_common(node.groups, previous), 1), len(node.groups)):
        group = node.groups[depth]
        line = Text(" " * (INDENT * (depth - 1)) + "┌ ", style="bright_black")
        line.append(group.path, style="bold")
        line.append(f"  {group.type_name}", style="magenta")
        if group.formula:
            line.append(f"  {group.formula}", style="cyan")
        headers.append(line)
    return headers


def input_block(flow: Flow) -> RenderableType:
    """The title and the input box."""
    name = flow.nodes[0].groups[0].type_name if flow.nodes and flow.nodes[0].groups else "model"
    title = Text(f"Data flow through {name}", style="bold")
    if flow.step:
        title.append(f"  (numbers of step {flow.step})", style="dim")
    box_ = Panel(
        Text.assemble(("Input X", "bold"), f"  shape: {dims(flow.input_shape)}"),
        box=box.ROUNDED,
        expand=False,
        border_style="green",
    )
    return Group(title, box_)


def node_block(flow: Flow, i: int) -> RenderableType:
    """Node ``i``: the containers it enters, the arrow bringing its input, its box."""
    node = flow.nodes[i]
    previous = flow.nodes[i - 1].groups if i else ()
    indent = INDENT * max(len(node.groups) - 1, 0)
    parts: list[RenderableType] = [
        *_group_footers(previous, node.groups),
        *_group_headers(node, previous),
    ]
    up = node.backward is not None
    parts.append(_arrow(dims(node.input_shape), indent, up, _origin(flow, i)))
    parts.append(Padding(node_box(node), (0, 0, 0, indent), expand=False))
    return Group(*parts)


def output_block(flow: Flow) -> RenderableType:
    """The model's output (the logits of a classifier) and the loss, the last node."""
    last = flow.nodes[-1] if flow.nodes else None
    label = "Logits out" if last is not None and last.label == "logits" else "Output"
    parts: list[RenderableType] = [
        *_group_footers(last.groups if last is not None else (), ()),
        _arrow(dims(flow.output_shape), 0),
        Panel(
            Text.assemble((label, "bold"), f"  shape: {dims(flow.output_shape)}"),
            box=box.ROUNDED,
            expand=False,
            border_style="green",
        ),
    ]
    loss = flow.loss
    if loss is not None:
        lines = [Text(loss.type_name, style="bold")]
        if loss.formula:
            lines.append(Text(loss.formula, style="cyan"))
        lines.append(Text(f"{dims(loss.input_shape)} → scalar"))
        value = Text("loss ")
        value.append(num(loss.value) if loss.value is not None else "-", style="bold")
        lines.append(value)
        parts += [
            _arrow(dims(loss.input_shape), 0),
            Panel(Text("\n").join(lines), box=box.ROUNDED, expand=False, border_style="red"),
        ]
    return Group(*parts)


def blocks(flow: Flow) -> Iterator[RenderableType]:
    """The picture in pieces, top to bottom: input, one per node, output and loss."""
    yield input_block(flow)
    for i in range(len(flow.nodes)):
        yield node_block(flow, i)
    yield output_block(flow)


def render_flow(flow: Flow) -> RenderableType:
    """The whole picture, for printing (``--flow``)."""
    if not flow.nodes:
        return Text("no forward recorded yet: n trains a batch, l steps into it", style="dim")
    return Group(*blocks(flow))


def print_flow(stepper: Stepper, console: Console, errors: Console) -> int:
    """``--flow``: train one batch, print its flow, return the exit status (4: a step raised)."""
    try:
        stepper.advance(Granularity.BATCH)
    except StepFailed as error:
        errors.print(f"[red]step 1 failed during {escape(error.place)}:[/] {escape(error.summary)}")
        errors.print(escape(error.traceback_text), highlight=False)
        return EXIT_USER_ERROR
    console.print(render_flow(stepper.views.flow()))
    return EXIT_OK
