"""The code base keeps the shape ARCHITECTURE.md describes: small files, and the engine and
the TUI reading a model only through ``ModelIndex`` and public Module/Parameter methods."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 500
#: Private state of Module and Parameter: only scratchai's core files may touch it.
PRIVATE = {
    "_modules",
    "_parameters",
    "_buffers",
    "_non_persistent",
    "_saved",
    "_saved_generation",
    "_forward_hooks",
    "_backward_hooks",
    "_data",
    "_grad",
}


def _sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", _sources("scratchai", "scratchtui"), ids=lambda p: p.name)
def test_no_source_file_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def private_reads(source: str) -> list[str]:
    """``x._name`` for a Module/Parameter private name, where ``x`` is not ``self``/``cls``
    (a class's own private attributes may share a name)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE:
            owner = node.value
            if not (isinstance(owner, ast.Name) and owner.id in ("self", "cls")):
                found.append(f"line {node.lineno}: .{node.attr}")
    return found


@pytest.mark.parametrize("path", _sources("scratchai/engine", "scratchtui"), ids=lambda p: p.name)
def test_engine_and_tui_read_no_private_state_of_modules(path: Path) -> None:
    assert private_reads(path.read_text()) == []


def test_the_private_read_check_can_fail() -> None:
    assert private_reads("def f(module):\n    return module._modules\n") == ["line 2: ._modules"]
    assert private_reads("class A:\n    def f(self):\n        return self._modules\n") == []
