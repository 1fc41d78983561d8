"""Symmetric units: a layer whose units (the columns of its weight) start identical and stay
identical after an update. They compute the same output, receive identical gradients and can
never differ: the layer is as good as one unit wide (e.g. every weight set to one constant).

A layer that starts symmetric but whose units differ after the first update (a zero-initialised
output layer: each class's gradient differs) raises nothing: the rest of the model broke the tie.
"""

from __future__ import annotations

import numpy as np

from scratchai.engine.checks.lints.base import LintContext
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity
from scratchai.parameter import Parameter

RULE = "symmetric_units"


def identical_units(w: np.ndarray, axis: int) -> list[list[int]]:
    """Groups (two or more) of units whose weights are exactly equal; units along ``axis``."""
    units = np.moveaxis(w, axis, 0)
    groups: dict[bytes, list[int]] = {}
    for j in range(units.shape[0]):
        groups.setdefault(np.ascontiguousarray(units[j]).tobytes(), []).append(j)
    return [g for g in groups.values() if len(g) > 1]


class SymmetricUnits:
    """Units of a layer identical at init and still identical after the first update
    (``symmetric_units``, one warning per weight, at build time).

    Args:
        rtol: after the update, units count as identical within this relative tolerance
            (a BLAS may round two equal columns differently by an ulp).
        min_units: a layer needs at least this many units.
    """

    rule = RULE

    def __init__(self, rtol: float = 1e-5, min_units: int = 2) -> None:
        self.rtol = rtol
        self.min_units = min_units
        self._init: list[tuple[str, str, Parameter, int, list[list[int]]]] = []

    def before_update(self, ctx: LintContext) -> None:
        self._init = []
        seen: set[int] = set()
        for module, _, out in ctx.calls:
            if id(module) in seen or not isinstance(out, np.ndarray) or out.ndim < 1:
                continue
            seen.add(id(module))
            units = out.shape[-1]
            if units < self.min_units:
                continue
            for name, p in module.named_parameters(recurse=False):
                w = p.data
                if w.ndim != 2 or id(p) in seen:
                    continue
                axis = 1 if w.shape[1] == units else 0 if w.shape[0] == units else None
                if axis is None:
                    continue
                seen.add(id(p))
                groups = identical_units(w, axis)
                if groups:
                    self._init.append((ctx.path_of(module), name, p, axis, groups))

    def after_update(self, ctx: LintContext) -> list[RuleWarning]:
        found = []
        for path, name, p, axis, groups in self._init:
            units = np.moveaxis(p.data, axis, 0)
            scale = float(np.max(np.abs(units))) if units.size else 0.0
            still = [
                g for g in groups if np.all(np.abs(units[g] - units[g[0]]) <= self.rtol * scale)
            ]
            if still:
                found.append(self._warning(ctx, path, name, p.data.shape[axis], still, axis))
        self._init = []
        return found

    def _warning(
        self,
        ctx: LintContext,
        path: str,
        name: str,
        total: int,
        groups: list[list[int]],
        axis: int,
    ) -> RuleWarning:
        dotted = f"{path}.{name}" if path else name
        same = sum(len(g) for g in groups)
        what = "columns" if axis == 1 else "rows"
        if len(groups) == 1 and same == total:
            count = f"all {total} units"
        else:
            count = f"{same} of {total} units (in {len(groups)} group(s) of identical ones)"
        return RuleWarning(
            RULE,
            Severity.WARNING,
            ctx.step,
            f"{count} of '{path or 'the model'}' are identical ({dotted}'s {what}), at init "
            "and after the first update",
            "Units with the same weights compute the same output: they receive identical "
            "gradients and can never differ, so the layer learns as if it had one unit "
            "(symmetry; e.g. every weight initialised to one constant).",
            (
                Remedy(
                    "initialise randomly: uniform in ±1/sqrt(fan_in) as sa.Linear does, or "
                    "kaiming / xavier (sa.init); a constant is fine for biases only"
                ),
            ),
            dotted,
        )
