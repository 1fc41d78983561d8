"""What a lint is: a check of the model as built, run once (the first step, and again after a
reload), so it costs nothing per step.

A lint reads the model at two moments of the first step, both before anything of it is saved:
``before_update`` sees the initial values (after the forward and backward, before the
optimizer's step), ``after_update`` the values the first update left, and returns the warnings.
Its thresholds are its constructor's arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from scratchai.engine.views.model_index import ModelIndex
from scratchai.module import Module

#: One layer call of the first forward: (module, its first input, its output).
Call = tuple[Module, Any, Any]


@dataclass(frozen=True)
class Stray:
    """A module called during the forward that is not in the model's tree.

    Attributes:
        module: the module.
        path: how the views name it: where it hangs and the mark, e.g.
            ``hidden[0] (not registered)``.
        where: where it hangs, as code reads it (``hidden[0]``, ``blocks['a']``,
            ``hidden[0].1`` for a child of one), or '' when no attribute of the model holds it.
        owner: the path of the module whose attribute holds it ('' the model).
        attribute: that attribute's name (``hidden``), '' when unknown.
        container: ``list``, ``tuple``, ``dict``, or '' (outside the model, or inside a stray).
        parent: the stray it is a child of, '' when it hangs in a container itself.
    """

    module: Module
    path: str
    where: str
    owner: str = ""
    attribute: str = ""
    container: str = ""
    parent: str = ""


@dataclass
class LintContext:
    """What a lint may read.

    Attributes:
        index: the model's structure.
        calls: the layer calls of the first forward, in forward order (strays included).
        strays: the modules called in that forward that are not in the tree.
        step: the step the warnings belong to (1).
    """

    index: ModelIndex
    calls: Sequence[Call]
    strays: Sequence[Stray] = ()
    step: int = 1
    #: the model's type name, for messages ('Deep')
    model_name: str = field(default="")

    def path_of(self, module: Module) -> str:
        """A module's path as the views name it (a stray's with its mark)."""
        path = self.index.path_of(module)
        if path is not None:
            return path
        return next((s.path for s in self.strays if s.module is module), type(module).__name__)


class Lint(Protocol):
    """One build-time check. ``rule`` is the warning's rule id (and its breakpoint's name)."""

    rule: str

    def before_update(self, ctx: LintContext) -> None:
        """Look at the initial values (remember what ``after_update`` needs)."""

    def after_update(self, ctx: LintContext) -> list[Any]:
        """The warnings (``RuleWarning``), once the first update was applied."""
        return []


def shape_text(shape: Sequence[int], batch: int | None = None) -> str:
    """``(batch, 64)`` for an output whose first axis is the batch, else ``(1,)``."""
    dims = [str(d) for d in shape]
    if batch is not None and dims and int(shape[0]) == batch:
        dims[0] = "batch"
    return f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"


def is_constant(values: np.ndarray) -> bool:
    """Every value the same (a zero bias, BatchNorm's gamma 1 and beta 0)."""
    return values.size <= 1 or bool(values.min() == values.max())
