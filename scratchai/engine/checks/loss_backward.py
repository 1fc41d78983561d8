"""The loss's backward against finite differences, like any module's.

A learner who writes their own loss writes its backward by hand too, and the commonest slip is
a factor: the forward takes a mean over the batch and the backward forgets the ``1/batch``, so
every gradient is ``batch`` times too large (the model may still train, with an lr that looks
``batch`` times too high). The loss is not part of the model's tree, so the module-by-module
check does not see it: here ``f(out) = loss(out, targets)`` is differentiated at the model's
output for a real batch, and a factor is named with its value (32: the batch size).

Nothing of the caller's model or loss changes: both are copied, and the library's random
generator is put back.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from scratchai.call_state import no_grad
from scratchai.engine.checks.backward import (
    DEFAULT_SAMPLES,
    DEFAULT_TOLERANCE,
    LOSS_PATH,
    MAX_ROWS,
    ModuleCheck,
    TensorCheck,
    float64_copy,
)
from scratchai.engine.checks.diagnose import describe_mismatch, shape_problem
from scratchai.engine.checks.differences import sampled_differences
from scratchai.engine.checks.raised import raised
from scratchai.engine.stepping.interrupts import Interrupted
from scratchai.engine.timeline.randomness import capture_random, restore_random
from scratchai.module import Module

_FLOOR_RATIO = 1e-3  # entries below this fraction of the largest gradient: absolute error


def check_loss_backward(
    model: Module,
    loss: Module,
    x: np.ndarray,
    y: Any,
    *,
    samples: int = DEFAULT_SAMPLES,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> ModuleCheck:
    """Check ``loss.backward()`` against central differences of ``loss(out, y)`` at the
    model's output ``out`` for the batch ``x`` (its first ``MAX_ROWS`` rows).

    Args:
        model / loss: not changed (float64 copies are used).
        x: the batch's inputs, e.g. (batch, features); y: its targets, e.g. (batch,).
    """
    name = type(loss).__name__
    rng_state = capture_random()
    stage = "the model's forward raised {} on a float64 copy of the batch"
    try:
        rows = np.asarray(x, dtype=np.float64)[:MAX_ROWS]
        targets = y[:MAX_ROWS] if hasattr(y, "__getitem__") else y
        with no_grad():
            out = float64_copy(model)(rows)
        if not isinstance(out, np.ndarray) or not np.issubdtype(out.dtype, np.floating):
            return ModuleCheck(LOSS_PATH, name, (), (), tolerance, "the model's output is no array")
        out = np.array(out, dtype=np.float64)  # a copy the check may nudge
        crit = copy.deepcopy(loss)
        stage = "forward raised {} on the model's output"
        f0 = float(crit(out.copy(), targets))
        stage = "backward raised {}"
        analytic = crit.backward()  # type: ignore[call-arg]  # a loss needs no grad
        problem = shape_problem(analytic, out.shape, f"{name}.backward")
        if problem:
            return ModuleCheck(
                LOSS_PATH, name, (TensorCheck("output", np.inf, 0),), (problem,), tolerance
            )
        analytic = np.asarray(analytic, dtype=np.float64)
        stage = "forward raised {} on a perturbed output"

        def f() -> float:
            return float(crit(out.copy(), targets))

        rng = np.random.default_rng(seed)
        idx, numeric = sampled_differences(out, f, f0, rng, samples)
    except Interrupted:
        raise  # the user stopped it: not a finding
    except BaseException as exc:  # the user's code: reported, never swallowed
        return ModuleCheck(LOSS_PATH, name, (), (), tolerance, "", _stage(stage, exc))
    finally:
        restore_random(rng_state)
    a = analytic.reshape(-1)[idx]
    floor = max(_FLOOR_RATIO * float(np.max(np.abs(numeric), initial=0.0)), 1e-12)
    rel = np.abs(a - numeric) / np.maximum(np.maximum(np.abs(a), np.abs(numeric)), floor)
    worst = float(np.max(rel, initial=0.0))
    tensors = (TensorCheck("output", worst, int(idx.size)),)
    if worst <= tolerance:
        return ModuleCheck(LOSS_PATH, name, tensors, (), tolerance)
    problem = _factor(a, numeric, floor, len(out), out.size)
    problem = problem or describe_mismatch("input", a, numeric, floor)
    return ModuleCheck(LOSS_PATH, name, tensors, (problem,), tolerance)


def _stage(stage: str, exc: BaseException) -> str:
    """``its forward raised ValueError on a perturbed output: ...``."""
    text = raised(exc)
    head, _, rest = text.partition(":")
    described = stage.format(head)
    described = described if described.startswith("the model") else f"its {described}"
    return described + (f":{rest}" if rest else "")


def _factor(analytic: np.ndarray, numeric: np.ndarray, floor: float, batch: int, size: int) -> str:
    """The gradient is ``k`` times the true one, ``k`` named by its likely source ('' when
    it is no constant multiple, or one without a name: describe_mismatch says it then)."""
    denom = float(np.dot(numeric, numeric))
    if denom <= 0.0:
        return ""
    k = float(np.dot(analytic, numeric)) / denom
    if not np.allclose(analytic, k * numeric, rtol=1e-3, atol=floor) or abs(k) < 1e-6:
        return ""
    what = f"the gradient w.r.t. the model's output is {k:.4g} times the true gradient"
    causes = [
        (batch, f"{batch} is the batch size: the forward takes a mean over the batch and the "
         "backward forgets the 1/batch; divide the gradient by the batch size (len(targets))"),
        (1.0 / batch, f"1/{batch}, one over the batch size: the backward divides by the batch "
         "although the forward sums (or divides twice): divide once, as the forward does"),
        (size, f"{size} is the number of elements: the forward takes a mean over every element "
         "and the backward forgets the 1/N; divide the gradient by the output's size"),
        (size / batch, f"{size // batch} is the number of outputs per sample: the backward "
         "forgets the mean over the outputs the forward takes"),
        (-1.0, "it has the wrong sign (minus the true gradient)"),
        (2.0, "a factor 2 is extra (the derivative of x**2 is 2x: counted twice?)"),
        (0.5, "a factor 2 is missing (the derivative of x**2 is 2x)"),
    ]  # fmt: skip
    for value, cause in causes:
        if value != 1.0 and abs(k - value) <= 1e-3 * abs(value):
            return f"{what}: {cause}"
    return ""
