"""scratchai is NumPy-only: importing it must load neither textual, rich nor scratchtui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = ("textual", "rich", "scratchtui")
PACKAGE = Path(__file__).resolve().parents[1] / "scratchai"


def test_importing_scratchai_loads_no_ui_package() -> None:
    code = (
        "import sys, scratchai, scratchai.gradcheck, scratchai.losses, scratchai.normalization\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"scratchai imported: {result.stdout.strip()}"


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_source_file_in_scratchai_imports_ui_packages(path: Path) -> None:
    bad = _imported_roots(path) & set(FORBIDDEN)
    assert not bad, f"{path.relative_to(PACKAGE.parent)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_the_teaching_core_uses_no_threads(path: Path) -> None:
    """``scratchai/*.py`` reads like the lesson: what the debugger needs across threads (its job
    thread, interrupts) lives in the engine."""
    assert "threading" not in _imported_roots(path), f"{path.name} imports threading"
