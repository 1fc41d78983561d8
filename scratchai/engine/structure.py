"""The model's tree as plain data: modules, their parameters (with every owner) and buffers."""

from __future__ import annotations

from dataclasses import dataclass

from ..module import Module
from ..sharing import parameter_owners


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
    params: tuple[ParamInfo, ...]
    buffers: tuple[BufferInfo, ...]


def model_structure(model: Module) -> tuple[ModuleInfo, ...]:
    """The module tree in pre-order (a shared sub-module appears once, under its first name)."""
    owners = parameter_owners(model)
    infos = []
    for path, module in model.named_modules():
        params = tuple(
            ParamInfo(
                name,
                f"{path}.{name}" if path else name,
                owners[id(p)][0],
                owners[id(p)],
                tuple(p.shape),
                str(p.dtype),
                int(p.size),
            )
            for name, p in module._parameters.items()
            if p is not None
        )
        buffers = tuple(
            BufferInfo(
                name,
                f"{path}.{name}" if path else name,
                tuple(b.shape),
                str(b.dtype),
                name not in module._non_persistent,
            )
            for name, b in module._buffers.items()
            if b is not None
        )
        infos.append(
            ModuleInfo(
                path,
                path.rsplit(".", 1)[-1] if path else "",
                path.count(".") + 1 if path else 0,
                type(module).__name__,
                module.extra_repr(),
                params,
                buffers,
            )
        )
    return tuple(infos)
