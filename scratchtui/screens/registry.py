"""The registry view (``a``): the registrations of ``build()``, replayed one by one.

"Defined -> Parameters registered": each step adds one entry to one of a module's three
dictionaries, ``_parameters``, ``_modules`` or ``_buffers``, and the tree grows. A module built
but not yet assigned into its parent says so; a Parameter registered a second time is marked as
the same object (shared). Below the tree: the registration itself, the file and line of its
assignment, and what it means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from scratchai.engine import Stepper
from scratchai.engine.views import Registration, recorded

from ..registry_log import describe
from .dialog import Dialog

REGISTRIES = ("_parameters", "_modules", "_buffers")
NONE_RECORDED = (
    "no registrations were recorded for this model (it was built outside scratchtui's "
    "demo, run and R): scratchtui demo NAME --registry prints them"
)


@dataclass
class Node:
    """A module as the replay has seen it so far."""

    path: str | None
    type_name: str
    attached: bool = False
    dicts: dict[str, dict[str, tuple[str, int]]] = field(
        default_factory=lambda: {name: {} for name in REGISTRIES}
    )  # registry -> name -> (label, index of the registration)


def child_path(entry: Registration) -> str | None:
    """The path of the module registered by ``entry`` (a ``_modules`` entry)."""
    if entry.owner is None:
        return None
    return f"{entry.owner}.{entry.name}" if entry.owner else entry.name


def _label(entry: Registration, entries: list[Registration]) -> str:
    if entry.kind == "Module":
        return entry.summary.split("(", 1)[0]
    if entry.kind == "None":
        return "None"
    text = str(entry.shape).replace(" ", "") if entry.shape is not None else entry.summary
    if entry.same_as is not None:
        first = entries[entry.same_as - 1]
        text += f" <-> {first.owner_label}.{first.name} (same object)"
    return text


def grow(entries: list[Registration], upto: int) -> dict[str | None, Node]:
    """The modules and their three dictionaries after the first ``upto`` registrations."""
    nodes: dict[str | None, Node] = {}
    for entry in entries[:upto]:
        owner = nodes.setdefault(entry.owner, Node(entry.owner, entry.owner_type))
        owner.attached = owner.attached or entry.owner in ("", "loss")
        owner.dicts[entry.registry][entry.name] = (_label(entry, entries), entry.index)
        if entry.kind == "Module":
            path = child_path(entry)
            child = nodes.setdefault(path, Node(path, _label(entry, entries)))
            child.attached = path is not None
    return nodes


def render_tree(entries: list[Registration], upto: int, order: list[str]) -> tuple[Text, int]:
    """The tree after ``upto`` registrations, and the line of the newest one."""
    nodes = grow(entries, upto)
    rank = {path: i for i, path in enumerate(order)}
    text, current_line, lines = Text(), 0, 0
    ordered = sorted(
        nodes.values(),
        key=lambda n: (n.path is None, rank.get(n.path or "", len(rank)), n.path or ""),
    )
    for node in ordered:
        depth = 0 if not node.path else node.path.count(".") + 1
        pad = "  " * depth
        name = "(not in the model)" if node.path is None else (node.path or "model")
        if node.path and depth:
            name = node.path.rpartition(".")[2]
        text.append(f"{pad}{name} ", style="bold")
        text.append(f"({node.type_name})", style="magenta")
        if not node.attached and node.path not in ("", "loss", None):
            text.append("  built, not assigned to its parent yet", style="dim")
        text.append("\n")
        lines += 1
        empty = [r for r in REGISTRIES if not node.dicts[r]]
        for registry in REGISTRIES:
            items = node.dicts[registry]
            if not items:
                continue
            text.append(f"{pad}  {registry} ", style="cyan")
            text.append("{")
            for i, (key, (label, index)) in enumerate(items.items()):
                newest = index == upto
                text.append(", " if i else "")
                text.append(f"'{key}': {label}", style="reverse yellow" if newest else "")
                if newest:
                    current_line = lines
            text.append("}\n")
            lines += 1
        if empty:
            text.append(f"{pad}  " + "  ".join(f"{r} {{}}" for r in empty) + "\n", style="dim")
            lines += 1
    return text, current_line


class RegistryScreen(Dialog[None]):
    """Replays ``build()``'s registrations: → next, ← back, home / end, esc closes."""

    DEFAULT_CSS = """
    RegistryScreen > Vertical { width: 100%; height: 100%; max-height: 100%; }
    RegistryScreen #registry-tree { height: 1fr; }
    RegistryScreen #registry-entry { height: auto; max-height: 8; border-top: solid $accent; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,n,space", "move(1)", "next", show=True),
        Binding("left,b,p", "move(-1)", "back", show=True),
        Binding("home", "jump(1)", "first", show=False),
        Binding("end", "jump(0)", "last", show=False),
        Binding("escape,q,a", "close", "close", show=True),
    ]

    def __init__(self, stepper: Stepper) -> None:
        super().__init__()
        self.entries = recorded(stepper.model) or []
        self.order = [info.path for info in stepper.structure()]
        #: how many registrations are replayed (the newest is highlighted)
        self.upto = 1 if self.entries else 0
        self.tree_text = Static(id="registry-tree-text")
        self.entry = Static(id="registry-entry")

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = "The registry: how build() filled _parameters, _modules, _buffers"
        with box:
            with VerticalScroll(id="registry-tree"):
                yield self.tree_text
            yield self.entry

    def on_mount(self) -> None:
        self._draw()

    def action_move(self, delta: int) -> None:
        self.upto = min(max(self.upto + delta, 1 if self.entries else 0), len(self.entries))
        self._draw()

    def action_jump(self, where: int) -> None:
        self.upto = len(self.entries) if where == 0 else min(1, len(self.entries))
        self._draw()

    def action_close(self) -> None:
        self.dismiss()

    def _draw(self) -> None:
        box = self.query_one(Vertical)
        if not self.entries:
            self.tree_text.update(Text(NONE_RECORDED, style="yellow"))
            self.entry.update("")
            box.border_subtitle = "esc closes"
            return
        text, line = render_tree(self.entries, self.upto, self.order)
        self.tree_text.update(text)
        current = self.entries[self.upto - 1]
        body = Text.from_markup("\n".join(describe(current, self.entries)))
        self.entry.update(body)
        box.border_subtitle = (
            f"#{self.upto} of {len(self.entries)}  → next  ← back  home/end  esc closes"
        )
        scroll = self.query_one("#registry-tree", VerticalScroll)
        scroll.scroll_to(y=max(line - 3, 0), animate=False)
