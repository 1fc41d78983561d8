"""Sharing gone wrong: a copy where an alias was meant, and two Parameters on one array.

A tie is one Parameter object with several owners (``branch_b.W = branch_a.W``): counted once,
stepped once, and fed by both users' gradients. Two *separate* Parameters that start with equal
values (or one the transpose of the other) look tied but are not: each gets its own gradient
and update, so they drift apart. Two separate Parameters over the same memory are worse: the
weight is counted twice and stepped twice per update.
"""

from __future__ import annotations

import numpy as np

from scratchai.engine.checks.lints.base import LintContext, is_constant
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity
from scratchai.parameter import Parameter

RULE = "broken_sharing"


def _root(array: np.ndarray) -> np.ndarray:
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class BrokenSharing:
    """Separate Parameters with equal (or transposed) values, or on the same memory
    (``broken_sharing``, one warning per pair, at build time).

    Equal constants (zero biases, BatchNorm's gamma 1 and beta 0 in twin layers) and arrays
    with at most ``min_distinct - 1`` distinct values (an identity init) are equal by design,
    not copies: they raise nothing.

    Args:
        min_distinct: fewest distinct values an array needs for equal arrays to be a copy.
        shown: at most this many pairs warned about (the first ones).
    """

    rule = RULE

    def __init__(self, min_distinct: int = 3, shown: int = 5) -> None:
        self.min_distinct = min_distinct
        self.shown = shown
        self._found: list[RuleWarning] = []

    def before_update(self, ctx: LintContext) -> None:
        params = [(path, p) for path, _, p in ctx.index.params]
        found = self._same_memory(ctx, params)
        paired = {frozenset((a, b)) for a, b, _ in found}
        for a, b, how in self._copies(params):
            if frozenset((a, b)) not in paired:
                found.append((a, b, how))
        self._found = [self._warning(ctx, a, b, how) for a, b, how in found[: self.shown]]

    def after_update(self, ctx: LintContext) -> list[RuleWarning]:
        found, self._found = self._found, []
        return found

    def _same_memory(
        self, ctx: LintContext, params: list[tuple[str, Parameter]]
    ) -> list[tuple[str, str, str]]:
        by_root: dict[int, list[tuple[str, Parameter]]] = {}
        for path, p in params:
            by_root.setdefault(id(_root(p.data)), []).append((path, p))
        found = []
        for group in by_root.values():
            for i, (a, pa) in enumerate(group):
                for b, pb in group[i + 1 :]:
                    if np.shares_memory(pa.data, pb.data):
                        found.append((a, b, "memory"))
        return found

    def _copies(self, params: list[tuple[str, Parameter]]) -> list[tuple[str, str, str]]:
        # Each array's bytes are hashed once (and a matrix's transpose's): equal arrays meet
        # in one bucket, so a model with a thousand layers costs one pass over its weights.
        seen: dict[tuple, list[tuple[str, np.ndarray]]] = {}
        found = []
        for path, p in params:
            data = p.data
            if data.size < self.min_distinct or is_constant(data):
                continue
            key = _key(data)
            pairs = [(other, "equal") for other in seen.get(key, [])]
            if data.ndim == 2:
                pairs += [(other, "transpose") for other in seen.get(_key(data.T), [])]
            for (earlier, values), how in pairs:
                same = np.array_equal(values, data if how == "equal" else data.T)
                if same and np.unique(data).size >= self.min_distinct:
                    found.append((earlier, path, how))
            seen.setdefault(key, []).append((path, data))
        return found

    def _warning(self, ctx: LintContext, a: str, b: str, how: str) -> RuleWarning:
        owner_b = b.rpartition(".")[0] or "the model"
        if how == "memory":
            return RuleWarning(
                RULE,
                Severity.WARNING,
                ctx.step,
                f"'{b}' and '{a}' are two Parameters on the same memory: counted and stepped twice",
                "A Parameter made around another's array (Parameter(branch_a.W.data)) is a "
                "second object on the same numbers: parameters() lists both, the parameter "
                "count counts them twice, and every update steps the array twice (once per "
                "object, each with only its own users' gradient).",
                (
                    Remedy(
                        f"share the Parameter itself: `{_attr(b)} = {_attr(a)}` "
                        "(one object, several owners: counted and stepped once)"
                    ),
                    Remedy(
                        "or, for two separate weights, give the second its own copy: "
                        "Parameter(w.data.copy())"
                    ),
                ),
                b,
            )
        transposed = how == "transpose"
        what = "the transpose of" if transposed else "equal to"
        fix = (
            f"tie them: keep one Parameter and use its transpose in {owner_b}'s forward "
            f"(x @ W.T, and its gradient's transpose in backward)"
            if transposed
            else f"if they are meant to be one weight, write `{_attr(b)} = {_attr(a)}` in "
            "__init__ (one Parameter object, two owners)"
        )
        return RuleWarning(
            RULE,
            Severity.WARNING,
            ctx.step,
            f"'{b}' is {what} '{a}' but a separate Parameter: a copy, not an alias",
            "Equal values in two Parameter objects are not a tie: each gets its own gradient "
            "and its own update, so they will drift apart after the first step, and the "
            "weight is counted twice (the tree shows no <-> shared mark).",
            (
                Remedy(fix),
                Remedy("if two separate weights are meant, initialise them separately"),
            ),
            b,
        )


def _attr(path: str) -> str:
    """``branch_a.W`` as the model's code writes it (``self.branch_a.W``)."""
    return f"self.{path}"


def _key(data: np.ndarray) -> tuple:
    """Shape, dtype and a hash of the values in C order: equal for equal arrays."""
    return (data.shape, data.dtype.str, hash(np.ascontiguousarray(data).tobytes()))
