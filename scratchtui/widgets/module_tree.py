"""The model as a live tree: modules, their parameters (with grad norms) and buffers.

The tree is built once from ``stepper.structure()``; afterwards only labels change. Parameter
labels are refreshed only while their module is expanded (and caught up when it is expanded),
so a model with thousands of modules costs little per step.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from scratchai.engine import BufferInfo, ModuleInfo, ParamInfo, ParamProbe, Stepper, StepRecord
from scratchai.engine.checks.lints import tree_mark

from ..messages import PathSelected
from .format import CHECK_FAILED, CHECK_OK, SHARED_MARK, count, num, shape


class NodeRef(NamedTuple):
    """What a tree node stands for: kind is 'module', 'parameter' or 'buffer'."""

    kind: str
    path: str


class _ParamEntry:
    """A parameter node and the step record its label was last drawn from."""

    __slots__ = ("drawn", "info", "node")

    def __init__(self, info: ParamInfo, node: TreeNode[NodeRef]) -> None:
        self.info = info
        self.node = node
        self.drawn: StepRecord | None = None


class ModuleTree(Tree[NodeRef]):
    """Modules with their type and hyper-parameters; parameters and buffers under each.

    Args:
        stepper: the engine whose model this shows.
    """

    DEFAULT_CSS = """
    ModuleTree { min-width: 24; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        structure = stepper.structure()
        root_label = _root_label(structure[0], stepper)
        super().__init__(root_label, NodeRef("module", ""), **kwargs)
        self.guide_depth = 2  # narrow guides: a parameter's label fits the left column
        self.root.expand()
        #: path -> node for modules, parameters (every owner's name) and buffers
        self.nodes: dict[str, TreeNode[NodeRef]] = {"": self.root}
        self._params_of: dict[str, list[_ParamEntry]] = {}
        self._module_labels: dict[str, Text] = {"": root_label}
        self._param_info: dict[str, ParamInfo] = {}
        self._buffer_info: dict[str, BufferInfo] = {}
        self._record: StepRecord | None = None
        self._by_owner: dict[str, ParamProbe] = {}
        self._highlighted: str | None = None
        self._infos = {info.path: info for info in structure}
        self._checked: dict[str, bool] = {}  # path -> the backward check's verdict drawn
        self._lint_marks: dict[str, str] = {}  # module path -> what the lints found there
        self._lints_of: tuple = ()  # the warnings the lint marks were drawn from
        self._add_nodes(structure)

    # ------------------------------------------------------------------ building (once)
    def _add_nodes(self, structure: tuple[ModuleInfo, ...]) -> None:
        has_children = {info.path.rpartition(".")[0] for info in structure if info.path}
        for info in structure:
            if info.path:
                parent = self.nodes.get(info.path.rpartition(".")[0], self.root)
                label = _module_label(info)
                # Containers stay open so the hierarchy shows; a leaf's parameters stay folded.
                node = parent.add(
                    label, NodeRef("module", info.path), expand=info.path in has_children
                )
                self.nodes[info.path] = node
                self._module_labels[info.path] = label
            else:
                node = self.root
            entries = []
            for param in info.params:
                leaf = node.add_leaf(_param_label(param, None), NodeRef("parameter", param.path))
                self.nodes[param.path] = leaf
                self._param_info[param.path] = param
                entries.append(_ParamEntry(param, leaf))
            self._params_of[info.path] = entries
            for buffer in info.buffers:
                leaf = node.add_leaf(_buffer_label(buffer), NodeRef("buffer", buffer.path))
                self.nodes[buffer.path] = leaf
                self._buffer_info[buffer.path] = buffer

    # ------------------------------------------------------------------ the widget contract
    def refresh_from(self, stepper: Stepper) -> None:
        """Show the latest step's grad norms on the visible parameters, and the verdict of
        the backward check on each module checked (no rebuild)."""
        self._mark_checks(stepper)
        self._mark_lints(stepper)
        record = stepper.last_step
        # the layer table shows this batch's gradients as they flow back: say whose these are
        mid = stepper.mid_batch and record is not None
        self.border_subtitle = f"|g|: step {record.step}" if mid and record else ""
        if record is self._record:
            return
        self._record = record
        self._by_owner = (
            {owner: p for p in record.params for owner in p.owners} if record is not None else {}
        )
        for path, entries in self._params_of.items():
            if entries and self.nodes[path].is_expanded:
                self._draw_params(entries)

    def highlight(self, path: str | None) -> None:
        """Mark ``path`` (module, parameter or buffer), unfold its module and move the cursor to it.

        An unknown path (or None) only clears the previous mark.
        """
        if path == self._highlighted:
            return
        previous, self._highlighted = self._highlighted, None
        if previous is not None:
            self._redraw(self.nodes[previous])
        node = self.nodes.get(path) if path is not None else None
        if node is None:
            return
        self._highlighted = path
        self._redraw(node)
        parent = node.parent
        while parent is not None:  # make it visible
            if not parent.is_expanded:
                parent.expand()
            parent = parent.parent
        # Line numbers are recomputed on the next refresh, after the expansion above.
        self.call_after_refresh(self.move_cursor, node)

    def _mark_checks(self, stepper: Stepper) -> None:
        """A module whose backward was checked gets a mark: a red cross when it failed."""
        for path, check in stepper.backward_checks.items():
            verdict = check.passed
            if self._checked.get(path) == verdict or path not in self.nodes or not path:
                continue
            self._checked[path] = verdict
            label = _module_label(self._infos[path])
            if verdict:
                label.append(f"  {CHECK_OK}", "green")
            else:
                label.append(f"  {CHECK_FAILED} backward wrong", "bold red")
            self._module_labels[path] = label
            self._redraw(self.nodes[path])

    def _mark_lints(self, stepper: Stepper) -> None:
        """A module the build-time lints named gets what they found ('hidden: not registered',
        'W: a copy'); drawn again only when the warnings changed."""
        warnings = stepper.warnings
        key = (len(warnings), warnings[-1] if warnings else None)
        if key == self._lints_of:
            return
        self._lints_of = key
        found: dict[str, list[str]] = {}
        for warning in warnings:
            mark = tree_mark(warning)
            if mark is not None and mark[0] in self.nodes:
                found.setdefault(mark[0], []).append(mark[1])
        marks = {path: f"  ⚠ {', '.join(dict.fromkeys(words))}" for path, words in found.items()}
        for path in set(marks) | set(self._lint_marks):
            if marks.get(path) != self._lint_marks.get(path):
                self._lint_marks[path] = marks.get(path, "")
                self._redraw(self.nodes[path])

    # ------------------------------------------------------------------ labels
    def _draw_params(self, entries: list[_ParamEntry]) -> None:
        record = self._record
        for entry in entries:
            if entry.drawn is record and record is not None:
                continue
            entry.drawn = record
            probe = self._by_owner.get(entry.info.path)
            label = _param_label(entry.info, probe)
            if entry.info.path == self._highlighted:
                label.stylize("reverse")
            entry.node.set_label(label)

    def _redraw(self, node: TreeNode[NodeRef]) -> None:
        """Redraw one node's label, with or without the highlight mark."""
        ref = node.data
        assert ref is not None
        path = ref.path
        if ref.kind == "module":
            label = self._module_labels[path].copy()
            if self._lint_marks.get(path):
                label.append(self._lint_marks[path], "bold yellow")
        elif ref.kind == "parameter":
            label = _param_label(self._param_info[path], self._by_owner.get(path))
        else:
            label = _buffer_label(self._buffer_info[path])
        if path == self._highlighted:
            label.stylize("reverse")
        node.set_label(label)

    # ------------------------------------------------------------------ events
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeRef]) -> None:
        """Catch up the labels of parameters that were folded while steps went by."""
        ref = event.node.data
        if ref is not None and ref.kind == "module":
            entries = self._params_of.get(ref.path)
            if entries:
                self._draw_params(entries)

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeRef]) -> None:
        ref = event.node.data
        if ref is not None:
            self.post_message(PathSelected(ref.path, ref.kind))


def _root_label(info: ModuleInfo, stepper: Stepper) -> Text:
    unique, naive = stepper.num_parameters
    label = Text.assemble((info.type_name, "bold"), " ", (count(unique), "bold"), " params")
    if naive != unique:  # the saving from sharing: naive counts a shared weight per owner
        label.append(f", {count(naive)} naive", "cyan")
    return label


def compact_hyper(extra_repr: str) -> str:
    """Hyper-parameters as a constructor call would read: integer values lose their keyword.

    'in_features=64, out_features=32, bias=True' -> '64, 32, bias=True' (fits a narrow pane).
    """
    parts = []
    for part in extra_repr.split(", "):
        _key, eq, value = part.partition("=")
        parts.append(value if eq and value.isdigit() else part)
    return ", ".join(parts)


def _module_label(info: ModuleInfo) -> Text:
    label = Text.assemble((info.name, "bold"), " ", (info.type_name, "magenta"))
    if info.hyper:  # the inspector shows every hyper-parameter
        label.append(f"({compact_hyper(info.hyper)})", "magenta")
    shared = [p for p in info.params if p.shared]
    if shared:
        label.append(f"  {SHARED_MARK} " + ", ".join(p.name for p in shared), "cyan")
    return label


def _param_label(info: ParamInfo, probe: ParamProbe | None) -> Text:
    # What this tool is for first (the gradient, then who shares the weight), before the
    # shape and size a narrow pane may cut.
    label = Text(info.name, "bold")
    if probe is not None:
        grad_bad = probe.grad_nonfinite > 0
        label.append(" |g| ")
        label.append(num(probe.grad_norm), "bold red" if grad_bad else "")
        if probe.nonfinite:
            label.append(f" {probe.nonfinite} nan/inf", "bold red")
    if info.shared:  # "<-> branch_b.W": the other names whole in a 40-column pane (? says it)
        others = ", ".join(o for o in info.owners if o != info.path)
        label.append(f" {SHARED_MARK} {others}", "cyan")
    label.append(f" {shape(info.shape)} {count(info.size)} ")
    label.append(info.dtype, "dim")
    return label


def _buffer_label(info: BufferInfo) -> Text:
    label = Text.assemble((info.name, "bold"), f" {shape(info.shape)} ", ("buffer", "yellow"))
    if not info.persistent:
        label.append(" non-persistent", "dim yellow")
    return label
