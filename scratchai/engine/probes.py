"""Probes: statistics of activations, parameters and buffers, computed cheaply once per step.

A training step on the lesson's MLP is a few dozen NumPy calls, so every probe here uses as few
passes over memory as it can: the sum and the sum of squares (one BLAS dot) give mean, std and
the non-finite test at once; NaN/Inf are only counted when the sum says some exist.
"""

from __future__ import annotations

import math

import numpy as np

from ..module import Module
from ..parameter import Parameter
from .records import BufferProbe, ModuleProbe, ParamProbe, Stats

_SATURATING = {"Tanh": 0.97, "Sigmoid": 0.97}  # |tanh| > .97; sigmoid maps to |2s-1| > .97
_EMPTY = Stats(0.0, 0.0, 0.0, 0.0, 0)


def array_stats(array: np.ndarray) -> Stats:
    """Mean, std, min and max of the finite values of ``array`` (any shape), and the NaN/Inf count."""
    if array.size == 0:
        return _EMPTY
    flat = array.reshape(-1)
    total = float(flat.sum(dtype=np.float64))
    if math.isfinite(total):
        sq = float(np.dot(flat, flat))
        if math.isfinite(sq):
            n = flat.size
            mean = total / n
            var = max(sq / n - mean * mean, 0.0)
            return Stats(mean, math.sqrt(var), float(flat.min()), float(flat.max()), 0)
    finite_mask = np.isfinite(flat)
    finite = flat[finite_mask].astype(np.float64)
    bad = int(flat.size - finite.size)
    if finite.size == 0:
        return Stats(math.nan, math.nan, math.nan, math.nan, bad)
    return Stats(
        float(finite.mean()), float(finite.std()), float(finite.min()), float(finite.max()), bad
    )


def squared_norm(array: np.ndarray) -> float:
    """Sum of squares as a Python float (inf/nan propagate)."""
    flat = array.reshape(-1)
    return float(np.dot(flat, flat))


def module_probe(
    path: str,
    module: Module,
    x: object,
    out: object,
    param_sq: dict[int, tuple[float, float]],
) -> ModuleProbe:
    """Statistics of one module call.

    Args:
        x: the module's first input, e.g. (batch, in_features).
        out: its output, e.g. (batch, out_features).
        param_sq: per parameter id, (squared grad norm, squared update ratio numerator and
            denominator folded as (|update|^2, |data|^2)) — see ``Stepper``.
    """
    type_name = type(module).__name__
    out_arr = out if isinstance(out, np.ndarray) else np.asarray(out)
    in_shape = tuple(x.shape) if isinstance(x, np.ndarray) else ()
    stats = array_stats(out_arr)
    dead = saturation = None
    if type_name == "ReLU" and out_arr.ndim >= 1 and out_arr.shape[0] > 0:
        alive = (out_arr > 0).any(axis=0)
        dead = 1.0 - float(np.count_nonzero(alive)) / alive.size
    elif type_name in _SATURATING:
        edge = _SATURATING[type_name]
        if type_name == "Sigmoid":
            tails = np.count_nonzero(np.abs(out_arr - 0.5) > edge / 2)
        else:
            tails = np.count_nonzero(np.abs(out_arr) > edge)
        saturation = float(tails) / max(out_arr.size, 1)
    grad_norm = update_ratio = None
    own = [p for p in module._parameters.values() if p is not None]
    if own:
        grad_sq = update_sq = data_sq = 0.0
        for p in own:
            g, u, d = param_sq.get(id(p), (math.nan, math.nan, math.nan))
            grad_sq += g
            update_sq += u
            data_sq += d
        grad_norm = math.sqrt(grad_sq) if grad_sq == grad_sq else math.nan
        update_ratio = _ratio(update_sq, data_sq)
    return ModuleProbe(
        path,
        type_name,
        in_shape,
        tuple(out_arr.shape),
        stats,
        dead,
        saturation,
        grad_norm,
        update_ratio,
    )


def _ratio(update_sq: float, data_sq: float) -> float | None:
    if not (update_sq == update_sq and data_sq == data_sq):  # NaN: no update measured
        return None
    if data_sq == 0.0:
        return math.inf if update_sq > 0 else 0.0
    return math.sqrt(update_sq / data_sq)


def param_probe(
    path: str,
    owners: tuple[str, ...],
    param: Parameter,
    grad_sq: float,
    update_sq: float,
    before_sq: float,
) -> ParamProbe:
    """Statistics of one (deduplicated) parameter after its update.

    Args:
        grad_sq: squared L2 norm of its gradient this step.
        update_sq: squared L2 norm of ``data_after - data_before`` (NaN when not measured).
        before_sq: squared L2 norm of the data before the update.
    """
    data = param.data
    stats = array_stats(data)
    grad_nonfinite = 0 if math.isfinite(grad_sq) else int(np.count_nonzero(~np.isfinite(param.grad)))
    # ||p||^2 = n (std^2 + mean^2): the stats already hold it, no second pass over the data.
    norm = math.sqrt(data.size * (stats.std**2 + stats.mean**2)) if not stats.nonfinite else math.nan
    return ParamProbe(
        path=path,
        owners=owners,
        shape=tuple(data.shape),
        dtype=str(data.dtype),
        size=int(data.size),
        data=stats,
        norm=norm,
        grad_norm=math.sqrt(grad_sq) if grad_sq == grad_sq else math.nan,
        grad_nonfinite=grad_nonfinite,
        update_ratio=_ratio(update_sq, before_sq),
    )


def buffer_probe(path: str, array: np.ndarray, persistent: bool) -> BufferProbe:
    return BufferProbe(path, tuple(array.shape), persistent, array_stats(array))
