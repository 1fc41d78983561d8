"""Gradient check: compare each backward with central finite differences.

The analytic gradients come from one forward and one backward; the numeric ones from
``(f(v + eps) - f(v - eps)) / (2 eps)`` for every element ``v`` of the input and of every
parameter. Run it in float64 (``Linear(..., dtype=np.float64)`` and a float64 input): float32
has too few digits for finite differences to mean anything.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .call_state import no_grad
from .module import Module
from .random import get_rng, get_rng_state, set_rng_state


@dataclass(frozen=True)
class GradcheckEntry:
    """The comparison for one tensor.

    Attributes:
        name: ``"input"`` or the parameter's dotted name (e.g. ``"0.W"``).
        shape: the tensor's shape.
        worst_rel_error: the largest relative error over its elements (see ``gradcheck``).
        worst_index: the element where it occurs.
        analytic: the backward's value at that element.
        numeric: the finite-difference value at that element.
    """

    name: str
    shape: tuple[int, ...]
    worst_rel_error: float
    worst_index: tuple[int, ...]
    analytic: float
    numeric: float


@dataclass
class GradcheckReport:
    """Per-tensor results of ``gradcheck``, input first, then parameters in traversal order."""

    entries: list[GradcheckEntry] = field(default_factory=list)
    eps: float = 1e-6

    @property
    def max_error(self) -> float:
        """The worst relative error over all tensors (0.0 if nothing was checked)."""
        return max((e.worst_rel_error for e in self.entries), default=0.0)

    def ok(self, tol: float = 1e-6) -> bool:
        """True when every tensor's worst relative error is below ``tol``."""
        return self.max_error < tol

    def __getitem__(self, name: str) -> GradcheckEntry:
        for entry in self.entries:
            if entry.name == name:
                return entry
        raise KeyError(
            f"no tensor '{name}' in the report; it has: {[e.name for e in self.entries]}"
        )

    def __str__(self) -> str:
        lines = [f"gradcheck (eps={self.eps:g}): worst relative error {self.max_error:.2e}"]
        for e in self.entries:
            lines.append(
                f"  {e.name:<24} {e.shape!s:<16} {e.worst_rel_error:.2e} at {e.worst_index}"
                f" (analytic {e.analytic:.6g}, numeric {e.numeric:.6g})"
            )
        return "\n".join(lines)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (float, int)) or (isinstance(value, np.ndarray) and value.ndim == 0)


def gradcheck(
    module_or_fn: Module | Callable[..., Any],
    x: np.ndarray,
    *,
    target: np.ndarray | None = None,
    loss: Module | None = None,
    eps: float = 1e-6,
    check_input: bool = True,
    floor_ratio: float = 1e-3,
) -> GradcheckReport:
    """Compare analytic gradients (input and every parameter) with central finite differences.

    What is differentiated:

    - ``loss`` given: ``loss(module(x), target)``; the backward is
      ``module.backward(loss.backward())``.
    - a loss module with ``target`` (``gradcheck(CrossEntropyLoss(), logits, target=y)``):
      ``module(x, target)``, whose backward takes no argument.
    - otherwise the fixed random projection ``sum(module(x) * R)``, so ``module.backward(R)``
      must return the gradient.

    Every evaluation starts from the same random-generator state (Dropout draws the same mask
    each time) and the buffers are put back after each one (BatchNorm's running statistics), so
    the function differentiated is fixed. The modules' buffers, ``.grad`` and the
    generator are restored when the check returns.

    The relative error of an element is ``|a - n| / max(|a|, |n|, floor)`` with ``floor =
    floor_ratio * max |n|`` over all checked tensors: entries that are tiny next to the largest
    gradient are judged on their absolute error instead, because the rounding noise of a finite
    difference scales with the whole function, not with the entry, and leaves them no relative
    precision.

    Args:
        module_or_fn: a Module, or any callable with a ``backward`` method.
        x: the input, float64 for a meaningful check (a copy is perturbed, never ``x``).
        target: targets for ``loss`` (or for a loss module checked on its own).
        loss: a loss module applied to the output.
        eps: finite-difference step.
        check_input: also check the gradient with respect to ``x`` (if it is floating point).
        floor_ratio: see above.

    Returns:
        A ``GradcheckReport``: one entry per tensor (input first, then each parameter once, shared
        parameters under their first name), with ``.max_error`` and ``.ok(tol)``.
    """
    if not hasattr(module_or_fn, "backward"):
        raise TypeError(
            f"gradcheck needs a Module or a callable with a backward method, got "
            f"{type(module_or_fn).__name__}: a plain function has no analytic gradient to check"
        )
    fn: Any = module_or_fn
    loss_fn: Any = loss  # a loss's backward takes no grad_output
    x = np.array(x, copy=True)
    modules = [m for m in (module_or_fn, loss) if isinstance(m, Module)]
    named: list[tuple[str, Any]] = []
    seen: set[int] = set()
    for prefix, m in zip(("", "loss"), (module_or_fn, loss), strict=True):
        if isinstance(m, Module):
            for name, p in m.named_parameters(prefix):
                if id(p) not in seen:
                    seen.add(id(p))
                    named.append((name, p))
    tensors: list[tuple[str, np.ndarray]] = []
    if check_input and np.issubdtype(x.dtype, np.floating):
        tensors.append(("input", x))
    tensors += [(name, p.data) for name, p in named]
    if any(t.dtype != np.float64 for _, t in tensors):
        warnings.warn(
            "gradcheck on non-float64 tensors: finite differences need float64 to be meaningful "
            "(build the model with dtype=np.float64 and pass a float64 input)",
            stacklevel=2,
        )
    grads_before = [p.grad.copy() for _, p in named]
    rng_state = get_rng_state()
    buffers = [(b, b.copy()) for m in modules for b in m.buffers()]
    projection: list[np.ndarray] = []

    def restore() -> None:
        set_rng_state(rng_state)
        for buf, saved in buffers:
            buf[...] = saved

    def run() -> Any:
        return fn(x) if target is None or loss is not None else fn(x, target)

    def scalar(out: Any) -> float:
        if loss is not None:
            return float(loss(out, target))
        if _is_scalar(out):
            return float(out)
        return float(np.sum(out * projection[0]))

    def evaluate() -> float:
        restore()
        with no_grad():
            return scalar(run())

    report = GradcheckReport(eps=eps)
    try:
        # Analytic: one forward and one backward into fresh gradients.
        for _, p in named:
            p.zero_grad()
        restore()
        out = run()
        if loss is None and not _is_scalar(out):
            # A generator seeded from the library's, not the library's stream itself: an input
            # drawn with the same seed as manual_seed must not come out equal to R.
            seed = int(get_rng().integers(2**63))
            projection.append(np.random.default_rng(seed).standard_normal(np.shape(out)))
        scalar(out)
        if loss is not None:
            grad_x = fn.backward(loss_fn.backward())
        elif _is_scalar(out):
            grad_x = fn.backward()
        else:
            grad_x = fn.backward(projection[0])
        analytic = {name: p.grad.copy() for name, p in named}
        analytic["input"] = np.asarray(grad_x)

        # Numeric: central differences (nothing is saved for backward).
        numerics: list[tuple[str, np.ndarray]] = []
        for name, array in tensors:
            numeric = np.zeros(array.shape, np.float64)
            for idx in np.ndindex(array.shape):
                original = array[idx]
                array[idx] = original + eps
                f_plus = evaluate()
                array[idx] = original - eps
                f_minus = evaluate()
                array[idx] = original
                numeric[idx] = (f_plus - f_minus) / (2.0 * eps)
            numerics.append((name, numeric))
        scale = max((float(np.max(np.abs(n), initial=0.0)) for _, n in numerics), default=0.0)
        floor = max(floor_ratio * scale, np.finfo(np.float64).tiny)
        for name, numeric in numerics:
            report.entries.append(_compare(name, analytic[name], numeric, floor))
    finally:
        restore()
        for (_, p), grad in zip(named, grads_before, strict=True):
            p.grad = grad
    return report


def _compare(name: str, analytic: np.ndarray, numeric: np.ndarray, floor: float) -> GradcheckEntry:
    analytic = analytic.astype(np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(
            f"the backward's gradient for '{name}' has shape {analytic.shape}, expected "
            f"{numeric.shape}"
        )
    if numeric.size == 0:
        return GradcheckEntry(name, numeric.shape, 0.0, (), 0.0, 0.0)
    diff = np.abs(analytic - numeric)
    denom = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    rel = diff / denom
    rel[np.isnan(rel)] = math.inf
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape)
    index = tuple(int(i) for i in worst)
    return GradcheckEntry(
        name, numeric.shape, float(rel[worst]), index, float(analytic[worst]), float(numeric[worst])
    )
