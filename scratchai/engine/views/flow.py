"""The forward pass as the lesson's flowchart: one node per recorded module call, as plain data.

Built from the calls the engine recorded in the last forward (``StepRecord.modules``, or the
layer events of a batch in progress), so it is right for any model: a Sequential, branches, a
residual sum inside a user's module, a module called twice (one node per call, "call 2 of 2"),
a weight shared by two modules (drawn on its first owner, marked on the others).

What each node says comes from ``ModelIndex`` (paths, parameters and their owners) and from
each module class's ``formula`` attribute: the maths sits next to ``forward``, not here. Shapes
are symbolic: the first axis is written ``"batch"`` when it is the batch's size.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from scratchai.engine.observe.records import LayerEvent, ModuleProbe, Stats, StepRecord
from scratchai.engine.views.model_index import ModelIndex
from scratchai.engine.views.module_info import ModuleInfo, ParamInfo, non_default_repr

#: One axis of a symbolic shape: a size, or "batch".
Dim = int | str
BATCH = "batch"


def symbolic(shape: Sequence[int] | None, batch: int | None) -> tuple[Dim, ...]:
    """``(32, 64)`` -> ``("batch", 64)`` when the batch has 32 examples; other axes stay."""
    if shape is None:
        return ()
    dims: list[Dim] = [int(n) for n in shape]
    if dims and batch is not None and dims[0] == batch:
        dims[0] = BATCH
    return tuple(dims)


@dataclasses.dataclass(frozen=True)
class FlowParam:
    """One parameter of a node, as its module names it.

    Attributes:
        shared_with: the other dotted names of the same Parameter object (empty: not shared).
        drawn_here: the first call that uses a shared weight shows its shape; the others show
            only the shared mark, so one weight is drawn once.
    """

    name: str
    shape: tuple[int, ...]
    size: int
    shared_with: tuple[str, ...] = ()
    drawn_here: bool = True


@dataclasses.dataclass(frozen=True)
class FlowGroup:
    """A module that contains the node's module: drawn as a group, with its formula if its
    class declares one (a residual block's ``x + f(x)``)."""

    path: str
    type_name: str
    formula: str | None


@dataclasses.dataclass(frozen=True)
class FlowNode:
    """One module call of the forward pass.

    Attributes:
        index: its position among the recorded calls (``StepRecord.modules[index]``).
        title: ``Linear(128 → 64)`` when the call changes the number of features, else the
            type with its key hyper-parameters (``Dropout(p=0.5)``).
        formula: the class's ``formula`` (None: the class declares none).
        weights_per_neuron: inputs each output unit weighs (rows of a 2-D weight whose columns
            are the output features), else None.
        input_shape / output_shape: symbolic, e.g. ``("batch", 128)``.
        call / calls: this is call ``call`` of ``calls`` of the same module in the forward.
        groups: the modules containing it, outermost first (the model itself first).
        elementwise: no parameters and the output has the input's shape.
        label: ``"logits"`` for the output a classification loss reads, else "".
        source: the index of the call whose output it reads; None when its input was made by
            code in a forward (a slice, a concatenation, a residual sum) or is the model's
            input, or when not known (``Flow.sources``).
        probe: the last step's numbers for this call (None before the first step).
        call_grad: for a module called several times, the norm of what this call added to its
            parameters' gradients in the last step (``probe.grad_norm`` is the sum's norm).
        forward / backward: this call's events in the batch in progress (stepping ``l``/``p``).
        active: the call the paused pass just ran.
    """

    index: int
    path: str
    type_name: str
    title: str
    formula: str | None
    params: tuple[FlowParam, ...]
    weights_per_neuron: int | None
    input_shape: tuple[Dim, ...]
    output_shape: tuple[Dim, ...]
    call: int
    calls: int
    groups: tuple[FlowGroup, ...]
    elementwise: bool
    label: str = ""
    source: int | None = None
    probe: ModuleProbe | None = None
    call_grad: float | None = None
    forward: LayerEvent | None = None
    backward: LayerEvent | None = None
    active: bool = False

    @property
    def input_grad_norm(self) -> float | None:
        """L2 norm of the gradient this call passed back to its input in the batch in
        progress (from its statistics: ``||g||^2 = n * (std^2 + mean^2)``), else None."""
        event = self.backward
        if event is None or not event.output_shape:
            return None
        n = math.prod(event.output_shape)
        stats = event.stats
        return math.sqrt(n * (stats.std * stats.std + stats.mean * stats.mean))

    @property
    def output_stats(self) -> Stats | None:
        """The freshest output statistics: this batch's if it ran, else the last step's."""
        if self.forward is not None:
            return self.forward.stats
        return self.probe.output if self.probe is not None else None


@dataclasses.dataclass(frozen=True)
class FlowLoss:
    """The last node: the loss module reads the model's output and gives a scalar."""

    type_name: str
    formula: str | None
    input_shape: tuple[Dim, ...]
    value: float | None


@dataclasses.dataclass(frozen=True)
class Flow:
    """The whole picture: input, one node per call, the loss.

    Attributes:
        input_shape / output_shape: the model's, symbolic (empty before any forward).
        step: the step whose numbers the nodes carry (0: none yet).
        direction: 'forward' or 'backward' while a batch is stepped into, else "".
        sources: whether the nodes' ``source`` is known (it is for a completed step).
    """

    input_shape: tuple[Dim, ...]
    output_shape: tuple[Dim, ...]
    nodes: tuple[FlowNode, ...]
    loss: FlowLoss | None
    step: int = 0
    direction: str = ""
    sources: bool = False


#: One recorded call, as the builder needs it: (path, input shape, output shape).
Call = tuple[str, Sequence[int], Sequence[int]]


class FlowBuilder:
    """Turns recorded calls into a ``Flow`` for one registered model and loss.

    What never changes (titles' parts, formulas, parameters and their owners, groups) is
    worked out once per path; each build only pairs it with the calls and their numbers.
    """

    def __init__(self, index: ModelIndex, loss: Any) -> None:
        self._index = index
        self._loss = loss
        self._infos = {info.path: info for info in index.structure}
        self._modules = dict(index.modules)
        self._static: dict[str, tuple] = {}

    def add_stray(self, path: str, module: Any) -> None:
        """Draw a module outside the tree (its parameters are its own: no owners)."""
        params = tuple(
            ParamInfo(
                name,
                f"{path}.{name}",
                f"{path}.{name}",
                (f"{path}.{name}",),
                tuple(p.shape),
                str(p.dtype),
                int(p.size),
            )
            for name, p in module.named_parameters(recurse=False)
        )
        self._infos[path] = ModuleInfo(
            path,
            path,
            path.count(".") + 1,
            type(module).__name__,
            module.extra_repr(),
            non_default_repr(module),
            params,
            (),
        )
        self._modules[path] = module

    def build_for(
        self,
        record: StepRecord | None,
        events: Sequence[LayerEvent],
        model_shapes: tuple[Sequence[int] | None, Sequence[int] | None],
        batch_loss: float | None,
        step: int,
        active: LayerEvent | None,
    ) -> Flow:
        """The flow of the last step's ``record`` (or, before the first step, of the forward
        ``events`` of the batch in progress), with the batch's ``events`` on it."""
        if record is not None:
            calls: list[Call] = [(m.path, m.input_shape, m.output_shape) for m in record.modules]
        else:
            calls = [
                (e.path, e.input_shape, e.output_shape) for e in events if e.direction == "forward"
            ]
        loss = batch_loss if events and batch_loss is not None else None
        if loss is None and record is not None:
            loss = record.loss
        probes = record.modules if record is not None else None
        flow = self.build(calls, probes, events, model_shapes, loss, step, active)
        if record is None or not record.grad_shares:
            return flow
        squares: dict[tuple[str, int], float] = {}  # (module, call) -> its gradient's |.|^2
        for share in record.grad_shares:
            key = (share.owner, share.call)
            squares[key] = squares.get(key, 0.0) + share.norm * share.norm
        nodes = tuple(
            dataclasses.replace(node, call_grad=math.sqrt(squares[(node.path, node.call)]))
            if node.calls > 1 and (node.path, node.call) in squares
            else node
            for node in flow.nodes
        )
        return dataclasses.replace(flow, nodes=nodes)

    def build(
        self,
        calls: Sequence[Call],
        probes: Sequence[ModuleProbe] | None = None,
        events: Sequence[LayerEvent] = (),
        model_shapes: tuple[Sequence[int] | None, Sequence[int] | None] = (None, None),
        loss_value: float | None = None,
        step: int = 0,
        active: LayerEvent | None = None,
    ) -> Flow:
        """The flow of ``calls`` (forward order), with the step's ``probes`` (one per call)
        and the batch in progress's layer ``events``; ``active`` is the event just taken."""
        model_in, model_out = model_shapes
        if model_in is None and calls:
            model_in = calls[0][1]
        if model_out is None and calls:
            model_out = calls[-1][2]
        batch = int(model_in[0]) if model_in is not None and len(model_in) else None
        totals: dict[str, int] = {}
        for path, _, _ in calls:
            totals[path] = totals.get(path, 0) + 1
        seen: dict[str, int] = {}
        drawn: set[str] = set()  # first names of shared weights already drawn
        forward, backward = match_events([path for path, _, _ in calls], events)
        classifier = bool(getattr(self._loss, "needs_class_labels", False))
        nodes = []
        sources = probes is not None and len(probes) == len(calls)
        for i, (path, x_shape, y_shape) in enumerate(calls):
            seen[path] = seen.get(path, 0) + 1
            type_name, formula, params, groups, hyper = self._static_of(path)
            own = []
            for first_name, p in params:  # a shared weight is drawn by the first call using it
                own.append(_marked(p) if p.shared_with and first_name in drawn else p)
                if p.shared_with:
                    drawn.add(first_name)
            x, y = symbolic(x_shape, batch), symbolic(y_shape, batch)
            nodes.append(
                FlowNode(
                    index=i,
                    path=path,
                    type_name=type_name,
                    title=_title(type_name, hyper, x, y, _fan_in(own, y) is not None),
                    formula=formula,
                    params=tuple(own),
                    weights_per_neuron=_fan_in(own, y),
                    input_shape=x,
                    output_shape=y,
                    call=seen[path],
                    calls=totals[path],
                    groups=groups,
                    elementwise=not params and x == y,
                    label="logits" if classifier and i == len(calls) - 1 else "",
                    source=probes[i].source if probes is not None and sources else None,
                    probe=probes[i] if probes is not None and sources else None,
                    forward=forward[i],
                    backward=backward[i],
                    active=active is not None and (forward[i] is active or backward[i] is active),
                )
            )
        loss = None
        if self._loss is not None:
            loss = FlowLoss(
                type(self._loss).__name__,
                getattr(self._loss, "formula", None),
                symbolic(model_out, batch),
                loss_value,
            )
        direction = events[-1].direction if events else ""
        return Flow(
            symbolic(model_in, batch),
            symbolic(model_out, batch),
            tuple(nodes),
            loss,
            step,
            direction,
            sources,
        )

    def _static_of(self, path: str) -> tuple:
        """(type, formula, params, groups, key hyper-parameters) of the module at ``path``."""
        if path in self._static:
            return self._static[path]
        info = self._infos.get(path)
        module = self._modules.get(path)
        type_name = info.type_name if info is not None else "?"
        formula = getattr(module, "formula", None)
        params = []
        for p in info.params if info is not None else ():
            # keyed by the first name, so every owner finds the same weight
            others = tuple(o for o in p.owners if o != p.path)
            params.append((p.first_path, FlowParam(p.name, p.shape, p.size, others)))
        groups = []
        parts = path.split(".") if path else []
        for depth in range(len(parts)):
            group_path = ".".join(parts[:depth])
            group = self._infos.get(group_path)
            if group is not None:
                group_formula = getattr(self._modules.get(group_path), "formula", None)
                groups.append(FlowGroup(group_path, group.type_name, group_formula))
        hyper = info.hyper if info is not None else ""
        self._static[path] = (type_name, formula, tuple(params), tuple(groups), hyper)
        return self._static[path]


def _marked(p: FlowParam) -> FlowParam:
    return FlowParam(p.name, p.shape, p.size, p.shared_with, drawn_here=False)


def _fan_in(params: Sequence[FlowParam], out: tuple[Dim, ...]) -> int | None:
    """Weights per output neuron: the rows of a 2-D weight whose columns are the outputs."""
    if not out:
        return None
    for p in params:
        if len(p.shape) == 2 and p.shape[1] == out[-1]:
            return p.shape[0]
    return None


def _title(type_name: str, hyper: str, x: tuple[Dim, ...], y: tuple[Dim, ...], weighs: bool) -> str:
    """``Linear(128 → 64)`` for a call that maps features to features, else the type and its
    key hyper-parameters."""
    if x and y and len(x) == len(y) and (x[-1] != y[-1] or weighs):
        return f"{type_name}({x[-1]} → {y[-1]})"
    return f"{type_name}({hyper})" if hyper else type_name


def match_events(
    paths: Sequence[str], events: Sequence[LayerEvent]
) -> tuple[list[LayerEvent | None], list[LayerEvent | None]]:
    """Each call's forward and backward event in the batch in progress, if it had them.

    The k-th forward event of a module is its k-th call; the backward runs in reverse, so its
    k-th backward event is its k-th call from the end.
    """
    forward: list[LayerEvent | None] = [None] * len(paths)
    backward: list[LayerEvent | None] = [None] * len(paths)
    rows: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        rows.setdefault(path, []).append(i)
    seen_forward: dict[str, int] = {}
    seen_backward: dict[str, int] = {}
    for event in events:
        mine = rows.get(event.path)
        if not mine:
            continue
        seen = seen_forward if event.direction == "forward" else seen_backward
        k = seen[event.path] = seen.get(event.path, 0) + 1
        if k > len(mine):
            continue
        if event.direction == "forward":
            forward[mine[k - 1]] = event
        else:
            backward[mine[-k]] = event
    return forward, backward
