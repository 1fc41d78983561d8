"""Containers: Sequential (chains its children), ModuleList and ModuleDict (hold them)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

from .errors import ReturnError, returned_none
from .module import Module


def _check_module(value: Any, where: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{where} holds Modules only, got {type(value).__name__}")
    return value


class _IndexedModules(Module):
    """Children named "0", "1", ... with list-style indexing (shared by Sequential, ModuleList)."""

    def _index(self, idx: int) -> int:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range for {type(self).__name__} of length {n}")
        return idx % n

    def _renumber(self, modules: Iterable[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    @overload
    def __getitem__(self, idx: int) -> Module: ...
    @overload
    def __getitem__(self, idx: slice) -> Module: ...
    def __getitem__(self, idx: int | slice) -> Module:
        if isinstance(idx, slice):
            return type(self)(*list(self._modules.values())[idx])
        return list(self._modules.values())[self._index(idx)]

    def __setitem__(self, idx: int, module: Module) -> None:
        key = list(self._modules)[self._index(idx)]
        setattr(self, key, _check_module(module, type(self).__name__))

    def __delitem__(self, idx: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[self._index(idx)]
        self._renumber(modules)

    def append(self, module: Module) -> _IndexedModules:
        self.add_module(str(len(self)), _check_module(module, type(self).__name__))
        return self

    def extend(self, modules: Iterable[Module]) -> _IndexedModules:
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _check_module(module, type(self).__name__))
        self._renumber(modules)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module


class Sequential(_IndexedModules):
    """Feeds the output of child i to child i+1; backward runs the children in reverse.

    ``Sequential(m0, m1, ...)`` names the children "0", "1", ...;
    ``Sequential(OrderedDict(fc1=..., act=...))`` keeps the given names.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential"))
        else:
            for i, child in enumerate(modules):
                self.add_module(str(i), _check_module(child, "Sequential"))

    def __getitem__(self, idx: int | slice) -> Module:  # type: ignore[override]
        if isinstance(idx, slice):
            # Like PyTorch, a slice keeps the children's names ("2", "3", ... or "fc1", ...).
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    accepts_input_grad = True

    def backward(self, grad_output: Any, input_grad: bool = True) -> Any:
        modules = tuple(self._modules.values())
        if not modules:
            return grad_output
        try:
            for module in modules[:0:-1]:
                grad_output = _returned(module, module.backward(grad_output), grad_output)
            first = modules[0]
            if input_grad or not first.accepts_input_grad:
                return _returned(first, first.backward(grad_output), grad_output)
            return first.backward(grad_output, input_grad=False)  # None is what was asked
        except ReturnError as err:
            err.locate(self)  # each enclosing Sequential again: the outermost names the path
            raise


def _returned(module: Module, grad_input: Any, grad_output: Any) -> Any:
    """What ``module.backward`` returned, refused when it is None (a forgotten ``return``
    would hand None to the module before it, which fails far from the bug)."""
    if grad_input is None:
        raise returned_none(module, grad_output)
    return grad_input


class ModuleList(_IndexedModules):
    """A list of modules, registered so their parameters are found; it is not callable."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def __getitem__(self, idx: int | slice) -> Module:  # type: ignore[override]
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return super().__getitem__(idx)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "a ModuleList only holds modules and has no forward: iterate over it and call each "
            "module in your own forward(), or use Sequential to chain them"
        )


class ModuleDict(Module):
    """A dict of modules by name, registered so their parameters are found; not callable."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] = ()) -> None:
        super().__init__()
        self.update(modules)

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(
                f"ModuleDict has no module '{key}'; it has: {', '.join(self._modules) or 'none'}"
            ) from None

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        self[key]  # raises the helpful KeyError
        delattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def keys(self) -> list[str]:
        return list(self._modules)

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "a ModuleDict only holds modules and has no forward: look modules up by name and "
            "call them in your own forward()"
        )
