"""``to_torch`` / ``from_torch``: the equivalent module tree on the other side, same weights.

torch is imported inside the functions (the optional ``torch`` extra), so importing scratchai
never loads it. Both directions keep the structure (child names, containers), the train/eval
mode of every module and ties: a Parameter (or a whole module) used in two places becomes one
``torch.nn.Parameter`` (or one module) used in the same two places, and back.

Neither direction moves a random generator on: torch modules are built on the ``meta`` device
(no memory, no init) and then given their weights; scratchai's generator is put back after
building.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np

from ..activations import ReLU, Sigmoid, Tanh
from ..containers import ModuleDict, ModuleList, Sequential
from ..layers import Dropout, Identity, Linear
from ..losses import CrossEntropyLoss, MSELoss
from ..module import Module
from ..normalization import BatchNorm1d
from ..parameter import Parameter
from ..random import get_rng_state, set_rng_state
from .names import InteropError, as_numpy, state_to_torch, unsupported

#: Modules without weights, by the name of their class on both sides.
_PLAIN = (ReLU, Tanh, Sigmoid, Identity, CrossEntropyLoss, MSELoss)


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError(
            "scratchai.interop needs PyTorch for this: pip install torch==2.13.0 (or, in the "
            "project's folder, pip install '.[torch]'; the state-dict converters "
            "state_to_torch/state_from_torch work without it)"
        ) from None
    return torch


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def to_torch(model: Module) -> Any:
    """The ``torch.nn`` module equivalent to ``model``, with copies of its weights.

    Converts Sequential, ModuleList, ModuleDict, Linear (``W`` transposed into ``weight``),
    BatchNorm1d (``gamma``/``beta`` -> ``weight``/``bias``, running statistics), Dropout,
    Identity, ReLU, Tanh, Sigmoid and the two losses.

    Raises:
        InteropError: a module of another type (e.g. your own subclass), named by path and type.
        ImportError: torch is not installed.
    """
    torch = _import_torch()
    nn = torch.nn
    modules: dict[int, Any] = {}
    params: dict[tuple[int, bool], Any] = {}

    def param(p: Parameter, transposed: bool) -> Any:
        key = (id(p), transposed)
        if key not in params:
            data = p.data.T if transposed else p.data
            params[key] = nn.Parameter(torch.from_numpy(np.array(data, order="C", copy=True)))
        return params[key]

    def convert(module: Module, path: str) -> Any:
        if id(module) in modules:
            return modules[id(module)]
        kind = type(module)
        children = [(n, c) for n, c in module._modules.items() if c is not None]
        if kind is Sequential:
            out = nn.Sequential(OrderedDict((n, convert(c, _join(path, n))) for n, c in children))
        elif kind is ModuleList:
            out = nn.ModuleList([convert(c, _join(path, n)) for n, c in children])
        elif kind is ModuleDict:
            out = nn.ModuleDict({n: convert(c, _join(path, n)) for n, c in children})
        elif kind is Linear:
            assert isinstance(module, Linear)
            # on meta: no memory, no init, no draw from torch's generator; weights assigned next
            has_bias = module.b is not None
            out = nn.Linear(module.in_features, module.out_features, has_bias, device="meta")
            out.weight = param(module.W, True)
            out.bias = None if module.b is None else param(module.b, False)
        elif kind is BatchNorm1d:
            assert isinstance(module, BatchNorm1d)
            out = nn.BatchNorm1d(
                module.num_features, eps=module.eps, momentum=module.momentum, device="meta"
            )
            out.weight = param(module.gamma, False)
            out.bias = param(module.beta, False)
            out.running_mean = torch.from_numpy(module.running_mean.copy())
            out.running_var = torch.from_numpy(module.running_var.copy())
            out.num_batches_tracked = torch.tensor(0, dtype=torch.long)
        elif kind is Dropout:
            assert isinstance(module, Dropout)
            out = nn.Dropout(module.p)
        elif kind in _PLAIN:
            out = getattr(nn, kind.__name__)()
        else:
            raise unsupported(path, module)
        out.training = module.training
        modules[id(module)] = out
        return out

    return convert(model, "")


def torch_state_dict(model: Module) -> dict[str, Any]:
    """``model``'s state dict in PyTorch's names, as CPU tensors (copies); tied keys share one
    tensor. ``torch_model.load_state_dict(...)`` takes it (``num_batches_tracked`` is filled in
    by torch)."""
    torch = _import_torch()
    tensors: dict[int, Any] = {}
    out: dict[str, Any] = {}
    for key, array in state_to_torch(model).items():
        if id(array) not in tensors:
            tensors[id(array)] = torch.from_numpy(array)
        out[key] = tensors[id(array)]
    return out


def from_torch(module: Any) -> Module:
    """The scratchai module equivalent to the ``torch.nn`` ``module``, with copies of its
    weights (the reverse of ``to_torch``; the same types).

    Raises:
        InteropError: a module of another type, or a BatchNorm1d without affine weights,
            running statistics or a fixed momentum (scratchai's has all three).
        ImportError: torch is not installed.
    """
    torch = _import_torch()
    nn = torch.nn
    modules: dict[int, Module] = {}
    params: dict[tuple[int, bool], Parameter] = {}
    plain = {getattr(nn, t.__name__): t for t in _PLAIN}

    def param(p: Any, transposed: bool) -> Parameter:
        key = (id(p), transposed)
        if key not in params:
            data = as_numpy(p)
            params[key] = Parameter(np.array(data.T if transposed else data, order="C"))
        return params[key]

    def convert(m: Any, path: str) -> Module:
        if id(m) in modules:
            return modules[id(m)]
        kind = type(m)
        children = [(n, c) for n, c in m._modules.items() if c is not None]
        out: Module
        if kind is nn.Sequential:
            out = Sequential(OrderedDict((n, convert(c, _join(path, n))) for n, c in children))
        elif kind is nn.ModuleList:
            out = ModuleList([convert(c, _join(path, n)) for n, c in children])
        elif kind is nn.ModuleDict:
            out = ModuleDict({n: convert(c, _join(path, n)) for n, c in children})
        elif kind is nn.Linear:
            dtype = as_numpy(m.weight).dtype
            out = Linear(m.in_features, m.out_features, bias=m.bias is not None, dtype=dtype)
            out.W = param(m.weight, True)
            if m.bias is not None:
                out.b = param(m.bias, False)
        elif kind is nn.BatchNorm1d:
            if not (m.affine and m.track_running_stats and m.momentum is not None):
                raise InteropError(
                    f"module '{path}' is a BatchNorm1d with affine={m.affine}, "
                    f"track_running_stats={m.track_running_stats}, momentum={m.momentum}: "
                    "scratchai's BatchNorm1d always has weights, running statistics and a "
                    "momentum"
                )
            dtype = as_numpy(m.weight).dtype
            out = BatchNorm1d(m.num_features, eps=m.eps, momentum=m.momentum, dtype=dtype)
            out.gamma = param(m.weight, False)
            out.beta = param(m.bias, False)
            out.running_mean = as_numpy(m.running_mean).copy()
            out.running_var = as_numpy(m.running_var).copy()
        elif kind is nn.Dropout:
            out = Dropout(m.p)
        elif kind in plain:
            out = plain[kind]()
        else:
            raise unsupported(path, m, side="scratchai")
        out.training = m.training
        modules[id(m)] = out
        return out

    rng = get_rng_state()  # Linear's init draws from scratchai's generator: undo those draws
    try:
        return convert(module, "")
    finally:
        set_rng_state(rng)
