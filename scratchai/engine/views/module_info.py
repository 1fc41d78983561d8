"""The model's tree as plain data: modules, their parameters (with every owner) and buffers.

``ModelIndex`` builds these in its one walk of the model.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from scratchai.module import Module


@dataclass(frozen=True)
class ParamInfo:
    """A parameter as seen from one owning module.

    Attributes:
        path: this owner's dotted name for it; first_path: the name ``named_parameters`` uses.
        owners: every dotted name of the same Parameter object (more than one when shared).
    """

    name: str
    path: str
    first_path: str
    owners: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    size: int

    @property
    def shared(self) -> bool:
        return len(self.owners) > 1


@dataclass(frozen=True)
class BufferInfo:
    name: str
    path: str
    shape: tuple[int, ...]
    dtype: str
    persistent: bool


@dataclass(frozen=True)
class ModuleInfo:
    """One module of the tree, in pre-order; ``depth`` 0 is the model itself (path '')."""

    path: str
    name: str
    depth: int
    type_name: str
    extra_repr: str
    hyper: str  # extra_repr without the keywords left at their default: the key ones
    params: tuple[ParamInfo, ...]
    buffers: tuple[BufferInfo, ...]


def non_default_repr(module: Module) -> str:
    """``module.extra_repr()`` without the ``key=value`` parts whose value is the constructor's
    default: 'in_features=64, out_features=32, bias=True' -> 'in_features=64, out_features=32'.
    """
    text = module.extra_repr()
    try:
        signature = inspect.signature(type(module).__init__)
    except (TypeError, ValueError):  # a constructor Python cannot introspect
        return text
    kept = []
    for part in text.split(", ") if text else []:
        key, eq, value = part.partition("=")
        parameter = signature.parameters.get(key)
        default = parameter.default if parameter is not None else inspect.Parameter.empty
        if eq and default is not inspect.Parameter.empty and value in (repr(default), str(default)):
            continue
        kept.append(part)
    return ", ".join(kept)
