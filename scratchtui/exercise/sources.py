"""The learner's starting file and the reference solutions, both read from one file.

The reference is a learner's file (``data/mynn_reference.txt``: text, not a module of
scratchtui; it reads its own Module's registries as the lesson does). Every function of it
whose docstring starts with ``Exercise N:`` belongs to exercise N. The stub file is the
reference with each such body replaced by ``raise NotImplementedError("exercise N: ...")``, so
the contracts (docstrings, shapes) are written once; ``solution N`` prints those functions
as the reference writes them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

REFERENCE = Path(__file__).with_name("data") / "mynn_reference.txt"
_MARK = re.compile(r"^Exercise (\d+):")


@dataclass(frozen=True)
class Solved:
    """One function of the reference: its exercise, qualified name and source lines."""

    exercise: int
    qualname: str
    first: int  # 1-based line of the def (decorators included)
    doc_end: int  # last line of the docstring
    last: int  # last line of the body
    indent: str  # the body's indentation


def reference_source() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def solved_functions(source: str | None = None) -> list[Solved]:
    """The reference's exercise functions in file order."""
    tree = ast.parse(reference_source() if source is None else source)
    found: list[Solved] = []

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, f"{owner}{child.name}.")
            elif isinstance(child, ast.FunctionDef):
                doc = ast.get_docstring(child) or ""
                mark = _MARK.match(doc)
                if mark is None:
                    continue
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                docnode = child.body[0]
                found.append(
                    Solved(
                        exercise=int(mark.group(1)),
                        qualname=owner + child.name,
                        first=first,
                        doc_end=docnode.end_lineno or docnode.lineno,
                        last=child.end_lineno or child.lineno,
                        indent=" " * docnode.col_offset,
                    )
                )

    visit(tree, "")
    return found


def stub_source() -> str:
    """``mynn.py`` as the learner gets it: every exercise body raises NotImplementedError."""
    lines = reference_source().splitlines()
    for solved in reversed(solved_functions()):
        raise_line = (
            f'{solved.indent}raise NotImplementedError("exercise {solved.exercise}: '
            f'write {solved.qualname}")'
        )
        lines[solved.doc_end : solved.last] = [raise_line]
    return "\n".join(lines) + "\n"


def solution_source(exercise: int) -> str:
    """The reference's functions of ``exercise``, each under its class line."""
    source = reference_source()
    lines = source.splitlines()
    parts: list[str] = []
    shown_class = ""
    for solved in solved_functions(source):
        if solved.exercise != exercise:
            continue
        owner = solved.qualname.rpartition(".")[0]
        if owner and owner != shown_class:
            parts.append(f"class {owner}(...):  # (only exercise {exercise}'s methods)")
        shown_class = owner
        parts.append("\n".join(lines[solved.first - 1 : solved.last]))
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
