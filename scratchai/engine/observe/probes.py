"""Probes: statistics of activations, parameters and buffers, computed once per training step.

A step of the lesson's MLP is a few dozen NumPy calls of about a microsecond each, so probing
must stay near that scale. Everything static (paths, owners, shapes, dtypes, which modules own
which parameters) is worked out once when the model is registered; per step, one sum and one
BLAS dot per array give mean, std and the non-finite test together, and NaN/Inf are counted
only when those say some exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from scratchai.activations import ReLU, Sigmoid, Tanh
from scratchai.engine.observe.records import BufferProbe, ModuleProbe, ParamProbe, Stats
from scratchai.engine.views.model_index import ModelIndex
from scratchai.module import Module

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


def dead_fraction(out: np.ndarray) -> float | None:
    """ReLU units whose output is <= 0 for every sample of the batch. out: (batch, units)."""
    if out.ndim != 2:
        return None
    alive = (out > 0).any(axis=0)
    return 1.0 - int(np.count_nonzero(alive)) / alive.size


def tanh_saturation(out: np.ndarray) -> float | None:
    """Fraction of outputs in tanh's flat tails (|out| > SATURATION_EDGE). out: any shape."""
    if not out.size:
        return None
    return int(np.count_nonzero(np.abs(out) > SATURATION_EDGE)) / out.size


def sigmoid_saturation(out: np.ndarray) -> float | None:
    """Fraction of outputs within (1 - SATURATION_EDGE) / 2 of 0 or 1. out: any shape."""
    if not out.size:
        return None
    centred = np.abs(out - 0.5) * 2.0
    return int(np.count_nonzero(centred > SATURATION_EDGE)) / out.size


#: Which statistic an activation's output gets: ("dead", f) fills ``ModuleProbe.dead_fraction``,
#: ("saturation", f) ``ModuleProbe.saturation``. Looked up along the class's MRO, so a subclass
#: of ReLU is probed like ReLU; a new activation is one line here.
ACTIVATION_PROBES: dict[type, tuple[str, Callable[[np.ndarray], float | None]]] = {
    ReLU: ("dead", dead_fraction),
    Tanh: ("saturation", tanh_saturation),
    Sigmoid: ("saturation", sigmoid_saturation),
}


def activation_probe(module: Module) -> tuple[str, Callable[[np.ndarray], float | None]] | None:
    """The statistic for ``module``'s output, from the nearest class in ACTIVATION_PROBES."""
    for cls in type(module).__mro__:
        if cls in ACTIVATION_PROBES:
            return ACTIVATION_PROBES[cls]
    return None


class Probes:
    """Turns one step's arrays into probe records for a fixed, registered model.

    Args:
        index: the model's structure (paths, owners, buffers), worked out once.
    """

    def __init__(self, index: ModelIndex) -> None:
        self._params = [
            (p, path, owners, p.shape, p.dtype.name, p.size) for path, owners, p in index.params
        ]
        self._modules = {
            id(m): (
                path,
                type(m).__name__,
                tuple(id(p) for p in index.own_parameters(m)),
                activation_probe(m),
            )
            for path, m in index.modules
        }
        self._buffers = index.buffers

    def watch(self, path: str, module: Module) -> None:
        """Probe the calls of a module outside the tree too (no parameters of the model's)."""
        self._modules[id(module)] = (path, type(module).__name__, (), activation_probe(module))

    def params(
        self, grad_sq: list[float], lr: float
    ) -> tuple[tuple[ParamProbe, ...], dict[int, tuple[float, float]]]:
        """Probe every parameter after the update.

        Args:
            grad_sq: each parameter's ``||grad||^2`` in the index's order, measured before
                the optimizer step.

        Returns:
            the probes, and ``id(p) -> (||grad||^2, ||data||^2)`` for the module probes.
        """
        norms: dict[int, tuple[float, float]] = {}
        probes = []
        for (p, path, owners, shape, dtype, size), g_sq in zip(self._params, grad_sq, strict=True):
            data = p.data
            d_sq = squared_norm(data)
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
        norms: dict[int, tuple[float, float]] | None,
        lr: float,
    ) -> tuple[ModuleProbe, ...]:
        """Probe each recorded module call ``(module, first input, output)`` in forward order.

        ``norms=None``: a forward without a backward (no grad norm, no update ratio).
        """
        probes = []
        # The calls keep their arrays alive, so an id names one array for the whole forward.
        made_by: dict[int, int] = {}
        for index, (module, x, out) in enumerate(calls):
            source = made_by.get(id(x))
            made_by[id(out)] = index
            path, type_name, own, activation = self._modules[id(module)]
            if not isinstance(out, np.ndarray):
                out = np.asarray(out)
            dead = saturation = grad_norm = ratio = None
            if activation is not None:
                kind, statistic = activation
                if kind == "dead":
                    dead = statistic(out)
                else:
                    saturation = statistic(out)
            if own and norms is not None:
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
                    source,
                )
            )
        return tuple(probes)

    def buffers(self) -> tuple[BufferProbe, ...]:
        return tuple(
            BufferProbe(path, array.shape, persistent, array_stats(array))
            for path, array, persistent in self._buffers
        )
