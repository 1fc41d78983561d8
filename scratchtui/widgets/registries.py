"""A module's three dictionaries, ``_parameters``, ``_modules`` and ``_buffers``, by their real
names (the inspector of a module shows them), from the engine's structure of the model."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from scratchai.engine import ModuleInfo

from .format import SHARED_MARK, count, shape

WIDTH = 13  # "_parameters  "


def registry_parts(info: ModuleInfo, modules: Iterable[ModuleInfo]) -> list[Text]:
    """The lines of ``info``'s registries; ``modules``: every module of the tree (its children
    are those one level below it)."""
    children = [
        m
        for m in modules
        if m.path != info.path and m.path.rpartition(".")[0] == info.path and m.depth
    ]
    lines: list[Text] = []

    def head(name: str, empty: bool) -> Text:
        line = Text(f"{name:<{WIDTH}}", style="cyan")
        if empty:
            line.append("{}", style="dim")
        lines.append(line)
        return line

    for i, p in enumerate(info.params):
        line = head("_parameters", False) if i == 0 else Text(" " * WIDTH)
        line.append(f"{p.name} {shape(p.shape)} {count(p.size)} {p.dtype}")
        if p.shared:
            line.append(f"  {SHARED_MARK} " + ", ".join(p.owners), style="cyan")
        if i:
            lines.append(line)
    if not info.params:
        head("_parameters", True)
    line = head("_modules", not children)
    line.append(" · ".join(f"{c.name} {c.type_name}" for c in children))
    for i, b in enumerate(info.buffers):
        line = head("_buffers", False) if i == 0 else Text(" " * WIDTH)
        line.append(f"{b.name} {shape(b.shape)} ")
        line.append("persistent" if b.persistent else "non-persistent", style="yellow")
        if i:
            lines.append(line)
    if not info.buffers:
        head("_buffers", True)
    return lines
