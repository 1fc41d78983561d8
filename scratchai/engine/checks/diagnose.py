"""What a wrong gradient looks like, in words: wrong shape, wrong sign, wrong scale, no mask.

Shared by the backward check (which compares with finite differences) and the engine's guard on
every backward's return value during training.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def shape_problem(grad: Any, expected: tuple[int, ...], who: str) -> str:
    """Why ``grad`` (returned by ``who``) is not a gradient of shape ``expected``, or ''."""
    if grad is None:
        return (
            f"{who} returned None instead of the gradient w.r.t. its input (shape {expected}): "
            "return it (end backward with `return grad_input`)"
        )
    shape = tuple(np.shape(grad))
    if shape == tuple(expected):
        return ""
    text = f"{who} returned a gradient of shape {shape} for an input of shape {tuple(expected)}"
    if len(shape) == 2 and shape == tuple(expected)[::-1]:
        text += ": it is transposed"
    else:
        try:
            np.broadcast_shapes(shape, tuple(expected))
            text += (
                ": NumPy would broadcast it without complaint, so every gradient before this "
                "module would be silently wrong"
            )
        except ValueError:
            pass
    return text + "; the gradient w.r.t. the input must have the input's shape"


def describe_mismatch(
    name: str,
    analytic: np.ndarray,
    numeric: np.ndarray,
    floor: float,
    clamped: np.ndarray | None = None,
) -> str:
    """The likeliest mistake behind sampled analytic values that disagree with numeric ones.

    Args:
        name: 'input' or the parameter's name.
        analytic / numeric: the sampled entries, (k,) each.
        floor: the size below which a gradient counts as zero.
        clamped: for an element-wise module's input, which sampled entries its output clamped.
    """
    what = "input gradient" if name == "input" else f"gradient w.r.t. {name}"
    if analytic.size == 0:
        return f"{what} could not be compared (every sampled entry sits on a kink)"
    zero_true = np.abs(numeric) <= floor
    wrong = np.abs(analytic - numeric) > 1e-3 * np.maximum(np.abs(numeric), floor)
    if clamped is not None and np.any(clamped & wrong & zero_true):
        return (
            f"{what} ignores the mask: it is nonzero where the output was clamped (as a ReLU "
            "clamps), where no gradient may pass; multiply it by the mask of the forward"
        )
    if np.all(zero_true) and np.any(wrong):
        return f"{what} is nonzero although the output does not depend on it"
    denom = float(np.dot(numeric, numeric))
    if denom > 0.0:
        k = float(np.dot(analytic, numeric)) / denom
        fits = np.allclose(analytic, k * numeric, rtol=1e-3, atol=floor)
        if fits and abs(k + 1.0) < 1e-3:
            return f"{what} has the wrong sign (it is minus the true gradient)"
        if fits and abs(k) < 1e-6:
            return f"{what} is zero: the backward adds nothing where the true gradient is not"
        if fits:
            return (
                f"{what} is {k:.4g} times the true gradient: a factor is missing or extra "
                "(e.g. a 1/batch, a 2, or a sum where the forward takes a mean)"
            )
    i = int(np.argmax(np.abs(analytic - numeric)))
    return f"{what} is wrong: e.g. {analytic[i]:.4g} where finite differences give {numeric[i]:.4g}"
