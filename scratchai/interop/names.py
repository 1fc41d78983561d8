"""State dicts in PyTorch's names and layouts, and back, with NumPy only (torch not needed).

scratchai and ``torch.nn`` hold the same numbers under different names and, for Linear, in
transposed layouts:

==============  ============================  ==========================================
scratchai       torch.nn                      how
==============  ============================  ==========================================
``Linear.W``    ``Linear.weight``             (in, out) here, (out, in) there: transposed
``Linear.b``    ``Linear.bias``               as is
``gamma/beta``  ``BatchNorm1d.weight/bias``   as is
running stats   ``running_mean/var``          as is; torch's ``num_batches_tracked`` is
                                              dropped on the way in (scratchai's momentum
                                              rule never reads it) and left out on the way
                                              out (torch fills it in on load)
==============  ============================  ==========================================

Ties survive both ways: an array that several keys share (a weight used by two layers) becomes
one array shared by the converted keys, and ``Module.load_state_dict`` copies into the model's
existing arrays, so loading never unties a model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from ..layers import Linear
from ..module import Module
from ..normalization import BatchNorm1d

#: The checkpoint namings ``scratchtui --checkpoint-names`` and ``Stepper`` accept.
CHECKPOINT_NAMES = ("scratchai", "torch")

#: Exact module type -> {scratchai local name: (torch local name, transposed)}.
LAYOUTS: dict[type[Module], dict[str, tuple[str, bool]]] = {
    Linear: {"W": ("weight", True), "b": ("bias", False)},
    BatchNorm1d: {
        "gamma": ("weight", False),
        "beta": ("bias", False),
        "running_mean": ("running_mean", False),
        "running_var": ("running_var", False),
    },
}

#: torch buffers with no scratchai counterpart, dropped when reading a torch state dict.
TORCH_ONLY: dict[type[Module], tuple[str, ...]] = {BatchNorm1d: ("num_batches_tracked",)}


class InteropError(ValueError):
    """A model (or one of its modules) has no equivalent on the other side."""


class KeyLayout(NamedTuple):
    """Where one scratchai state-dict key goes in PyTorch's naming."""

    torch_key: str
    transposed: bool


def _own_state_names(module: Module) -> list[str]:
    """The module's own parameters and persistent buffers (what it adds to ``state_dict``)."""
    names = [name for name, _ in module.named_parameters(recurse=False, remove_duplicate=False)]
    names += [
        name
        for name, _ in module.named_buffers(recurse=False, remove_duplicate=False)
        if module.is_persistent_buffer(name)
    ]
    return names


def unsupported(path: str, module: object, side: str = "PyTorch") -> InteropError:
    """The error for a module with no known counterpart, naming its path and type."""
    where = f"module '{path}'" if path else "the model itself"
    known = ", ".join(sorted(t.__name__ for t in LAYOUTS))
    return InteropError(
        f"{where} is a {type(module).__module__}.{type(module).__qualname__}, which has no "
        f"{side} equivalent known to scratchai.interop (it converts Sequential, ModuleList, "
        f"ModuleDict, activations, Dropout, Identity and, with weights, {known}); convert it by "
        "hand, or keep it out of the converted part of the model"
    )


def torch_key_layout(model: Module) -> dict[str, KeyLayout]:
    """``{scratchai key: (torch key, transposed)}`` for every key of ``model.state_dict()``.

    Raises:
        InteropError: a module with its own parameters or buffers is not a type whose torch
            layout is known (exact types only: a subclass may lay its weights out differently).
    """
    layout: dict[str, KeyLayout] = {}
    for path, module in model.named_modules(remove_duplicate=False):
        names = _own_state_names(module)
        if not names:
            continue
        local = LAYOUTS.get(type(module))
        if local is None:
            raise unsupported(path, module)
        prefix = f"{path}." if path else ""
        for name in names:
            torch_name, transposed = local[name]
            layout[prefix + name] = KeyLayout(prefix + torch_name, transposed)
    return layout


def as_numpy(value: Any) -> np.ndarray:
    """An array from a NumPy array or a torch tensor (CPU copy, detached), without importing
    torch."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def memory_key(value: Any) -> tuple:
    """Equal for two values that view the same memory the same way: how a tie is recognised.

    ``torch.nn.Module.state_dict()`` hands out a new detached tensor per key, so a tied
    weight's two keys hold two tensor objects over one storage; NumPy aliases are one object.
    """
    if hasattr(value, "data_ptr") and hasattr(value, "stride"):  # a torch tensor
        return ("torch", value.data_ptr(), tuple(value.shape), value.stride(), str(value.dtype))
    if isinstance(value, np.ndarray):
        pointer = value.__array_interface__["data"][0]
        return ("numpy", pointer, value.shape, value.strides, value.dtype.str)
    return ("object", id(value))


def state_to_torch(model: Module, state: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """``model``'s state dict in PyTorch's names and layouts, as NumPy arrays.

    Args:
        model: gives the names and layouts (its module types).
        state: values keyed like ``model.state_dict()`` (default: the model's own).

    Returns:
        ``{torch key: array}``, each a C-contiguous copy (Linear weights ``(out, in)``); keys
        whose values are one array in ``state`` (a tie) share one array here too.
    """
    source = model.state_dict() if state is None else state
    out: dict[str, np.ndarray] = {}
    converted: dict[tuple[tuple, bool], np.ndarray] = {}
    for key, (torch_key, transposed) in torch_key_layout(model).items():
        if key not in source:
            raise KeyError(f"state_to_torch: the state has no '{key}'")
        memo = (memory_key(source[key]), transposed)
        if memo not in converted:
            value = as_numpy(source[key])
            converted[memo] = np.array(value.T if transposed else value, order="C", copy=True)
        out[torch_key] = converted[memo]
    return out


def state_from_torch(model: Module, torch_state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A PyTorch-named state dict (tensors or arrays) renamed and laid out for ``model``.

    Feed the result to ``model.load_state_dict``: it reports missing and unexpected keys (a
    torch key this model does not have is passed through under its own name) and loads all
    or nothing. Torch-only buffers (``num_batches_tracked``) are dropped.

    Returns:
        ``{scratchai key: array}``; torch keys sharing one tensor give keys sharing one array.
    """
    by_torch = {torch_key: (key, t) for key, (torch_key, t) in torch_key_layout(model).items()}
    dropped = {
        f"{path}.{name}" if path else name
        for path, module in model.named_modules(remove_duplicate=False)
        for name in TORCH_ONLY.get(type(module), ())
    }
    out: dict[str, np.ndarray] = {}
    converted: dict[tuple[tuple, bool], np.ndarray] = {}
    for torch_key, value in torch_state.items():
        if torch_key in dropped:
            continue
        key, transposed = by_torch.get(torch_key, (torch_key, False))
        memo = (memory_key(value), transposed)
        if memo not in converted:
            array = as_numpy(value)
            converted[memo] = np.array(array.T if transposed else array, order="C", copy=True)
        out[key] = converted[memo]
    return out
