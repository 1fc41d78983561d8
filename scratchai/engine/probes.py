"""Probes: statistics of activations, parameters and buffers, computed once per training step.

A step of the lesson's MLP is a few dozen NumPy calls of about a microsecond each, so probing
must stay near that scale. Everything static (paths, owners, shapes, dtypes, which modules own
which parameters) is worked out once when the model is registered; per step, one sum and one
BLAS dot per array give mean, std and the non-finite test together, and NaN/Inf are counted
only when those say some exist.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..module import Module
from ..parameter import Parameter
from .records import BufferProbe, ModuleProbe, ParamProbe, Stats

SATURATION_EDGE = 0.97  # |tanh| > .97, or a sigmoid within .015 of 0 or 1
_EMPTY = Stats(0.0, 0.0, 0.0, 0.0, 0)
# Bound ufunc methods are a few hundred nanoseconds cheaper per call than ndarray.sum() and
# friends, which adds up at dozens of calls per step.
_sum, _min, _max, _dot = np.add.reduce, np.minimum.reduce, np.maximum.reduce, np.dot


def array_stats(array: np.ndarray) -> Stats:
    """Mean, std, min and max of the finite values of ``array`` (any shape), and NaN/Inf count."""
    n = array.size
    if n == 0:
        return _EMPTY
    flat = array.reshape(-1)
    total = float(_sum(flat))
    squares = float(_dot(flat, flat))
    if total - total == 0.0 and squares - squares == 0.0:  # both finite: no NaN/Inf inside
        mean = total / n
        var = squares / n - mean * mean
        std = math.sqrt(var) if var > 0.0 else 0.0
        return Stats(mean, std, float(_min(flat)), float(_max(flat)), 0)
    finite = flat[np.isfinite(flat)].astype(np.float64)
    bad = n - finite.size
    if finite.size == 0:
        return Stats(math.nan, math.nan, math.nan, math.nan, bad)
    return Stats(
        float(finite.mean()), float(finite.std()), float(finite.min()), float(finite.max()), bad
    )


def squared_norm(array: np.ndarray) -> float:
    """Sum of squares as a Python float (NaN/Inf propagate)."""
    flat = array.reshape(-1)
    return float(_dot(flat, flat))


def nonfinite_count(array: np.ndarray) -> int:
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def update_to_data(lr: float, grad_sq: float, data_sq: float) -> float:
    """lr * ||g|| / ||p||: the update:data ratio of CS231n and Karpathy's recipe (RMS form).

    NaN when either norm is NaN; inf for a zero parameter that is being moved.
    """
    if grad_sq != grad_sq or data_sq != data_sq:
        return math.nan
    if data_sq > 0.0:
        return lr * math.sqrt(grad_sq / data_sq)
    return math.inf if grad_sq > 0.0 and lr > 0.0 else 0.0


def _dead_fraction(out: np.ndarray) -> float:
    """ReLU units whose output is <= 0 for every sample of the batch. out: (batch, units)."""
    alive = (out > 0).any(axis=0)
    return 1.0 - int(np.count_nonzero(alive)) / alive.size


def _saturation(kind: str, out: np.ndarray) -> float:
    centred = np.abs(out - 0.5) * 2.0 if kind == "Sigmoid" else np.abs(out)
    return int(np.count_nonzero(centred > SATURATION_EDGE)) / out.size


class Probes:
    """Turns one step's arrays into probe records for a fixed, registered model.

    Args:
        params: ``(first path, owners, parameter)`` for every deduplicated parameter.
        module_paths: ``id(module) -> path`` for every module of the model.
        buffers: ``(path, array, persistent)`` for every buffer.
    """

    def __init__(
        self,
        params: list[tuple[str, tuple[str, ...], Parameter]],
        module_paths: dict[int, str],
        modules: list[Module],
        buffers: list[tuple[str, np.ndarray, bool]],
    ) -> None:
        self._params = [
            (p, path, owners, p.shape, p.dtype.name, p.size) for path, owners, p in params
        ]
        self._modules = {
            id(m): (
                module_paths[id(m)],
                type(m).__name__,
                tuple(id(p) for p in m._parameters.values() if p is not None),
            )
            for m in modules
        }
        self._buffers = buffers

    def params(
        self, grad_sq: dict[int, float], lr: float
    ) -> tuple[tuple[ParamProbe, ...], dict[int, tuple[float, float]]]:
        """Probe every parameter after the update.

        Args:
            grad_sq: ``id(p) -> ||grad||^2``, measured before the optimizer step.

        Returns:
            the probes, and ``id(p) -> (||grad||^2, ||data||^2)`` for the module probes.
        """
        norms: dict[int, tuple[float, float]] = {}
        probes = []
        for p, path, owners, shape, dtype, size in self._params:
            data = p.data
            d_sq = squared_norm(data)
            g_sq = grad_sq[id(p)]
            norms[id(p)] = (g_sq, d_sq)
            probes.append(
                ParamProbe(
                    path,
                    owners,
                    shape,
                    dtype,
                    size,
                    math.sqrt(d_sq) if d_sq == d_sq else math.nan,
                    math.sqrt(g_sq) if g_sq == g_sq else math.nan,
                    0 if d_sq - d_sq == 0.0 else nonfinite_count(data),
                    0 if g_sq - g_sq == 0.0 else nonfinite_count(p.grad),
                    update_to_data(lr, g_sq, d_sq),
                )
            )
        return tuple(probes), norms

    def modules(
        self,
        calls: list[tuple[Module, Any, Any]],
        norms: dict[int, tuple[float, float]],
        lr: float,
    ) -> tuple[ModuleProbe, ...]:
        """Probe each recorded module call ``(module, first input, output)`` in forward order."""
        probes = []
        for module, x, out in calls:
            path, type_name, own = self._modules[id(module)]
            if not isinstance(out, np.ndarray):
                out = np.asarray(out)
            dead = saturation = grad_norm = ratio = None
            if type_name == "ReLU" and out.ndim == 2:
                dead = _dead_fraction(out)
            elif type_name in ("Tanh", "Sigmoid") and out.size:
                saturation = _saturation(type_name, out)
            if own:
                g_sq = sum(norms[i][0] for i in own)
                d_sq = sum(norms[i][1] for i in own)
                grad_norm = math.sqrt(g_sq) if g_sq == g_sq else math.nan
                ratio = update_to_data(lr, g_sq, d_sq)
            probes.append(
                ModuleProbe(
                    path,
                    type_name,
                    x.shape if isinstance(x, np.ndarray) else (),
                    out.shape,
                    array_stats(out),
                    dead,
                    saturation,
                    grad_norm,
                    ratio,
                )
            )
        return tuple(probes)

    def buffers(self) -> tuple[BufferProbe, ...]:
        return tuple(
            BufferProbe(path, array.shape, persistent, array_stats(array))
            for path, array, persistent in self._buffers
        )
