"""One walk of the model: everything the engine needs to know about its structure.

Paths, leaves, the owners of every parameter (sharing), buffers and whether they persist, and
the plain-data description of the tree (``ModuleInfo``) the front ends draw. The engine and the
TUI read the model's structure only from here and through public ``Module`` methods.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchai.engine.views.module_info import BufferInfo, ModuleInfo, ParamInfo, non_default_repr
from scratchai.hooks import HookHandle
from scratchai.module import BackwardHook, ForwardHook, Module
from scratchai.parameter import Parameter


class ModelIndex:
    """The structure of ``model`` at the time it was indexed (the lesson's "registered").

    Attributes:
        model: the indexed model.
        modules: ``(path, module)`` in pre-order, each module once under its first path.
        params: ``(first path, owners, parameter)`` for every parameter, deduplicated, in
            ``named_parameters()`` order; owners are all its dotted names, first first.
        buffers: ``(path, array, persistent)`` for every buffer, in ``named_buffers()`` order.
        structure: the tree as plain data (``ModuleInfo`` per module, pre-order).
    """

    def __init__(self, model: Module) -> None:
        self.model = model
        self._paths: dict[int, str] = {}
        self._leaves: set[int] = set()
        self._own: dict[int, tuple[Parameter, ...]] = {}
        owners: dict[int, list[str]] = {}
        params: dict[int, Parameter] = {}
        buffers: list[tuple[str, np.ndarray, bool]] = []
        seen_buffers: set[int] = set()
        modules: list[tuple[str, Module]] = []
        # The only walk: a shared sub-module is visited under every name (for the owners of
        # its parameters), but described and probed once, under its first name.
        for path, module in model.named_modules(remove_duplicate=False):
            own = list(module.named_parameters(recurse=False, remove_duplicate=False))
            for name, p in own:
                dotted = f"{path}.{name}" if path else name
                names = owners.setdefault(id(p), [])
                if dotted not in names:
                    names.append(dotted)
                params.setdefault(id(p), p)
            if id(module) in self._paths:
                continue
            self._paths[id(module)] = path
            modules.append((path, module))
            self._own[id(module)] = tuple({id(p): p for _, p in own}.values())
            if module.is_leaf():
                self._leaves.add(id(module))
            for name, buf in module.named_buffers(recurse=False, remove_duplicate=False):
                if id(buf) not in seen_buffers:
                    seen_buffers.add(id(buf))
                    dotted = f"{path}.{name}" if path else name
                    buffers.append((dotted, buf, module.is_persistent_buffer(name)))
        self.modules: tuple[tuple[str, Module], ...] = tuple(modules)
        self.owners: dict[int, tuple[str, ...]] = {k: tuple(v) for k, v in owners.items()}
        self.params: tuple[tuple[str, tuple[str, ...], Parameter], ...] = tuple(
            (self.owners[key][0], self.owners[key], p) for key, p in params.items()
        )
        self.buffers: tuple[tuple[str, np.ndarray, bool], ...] = tuple(buffers)
        self._param_by_path = {name: p for _, names, p in self.params for name in names}
        self._buffer_by_path = {path: buf for path, buf, _ in self.buffers}
        self.structure: tuple[ModuleInfo, ...] = tuple(self._describe(p, m) for p, m in modules)
        #: ``(path, module)`` of each module the forward calls that is not in the tree
        #: (``checks/lints/unregistered.py``): named where it hangs, marked "not registered"
        self.strays: list[tuple[str, Module]] = []

    def add_stray(self, module: Module, path: str) -> None:
        """Know a module the forward calls that is not in the tree, by ``path``: a layer if
        it has no children, owning none of the model's parameters."""
        self._paths[id(module)] = path
        self._own[id(module)] = ()
        if module.is_leaf():
            self._leaves.add(id(module))
        self.strays.append((path, module))

    # ------------------------------------------------------------------ queries
    def path_of(self, module: Any) -> str | None:
        """The dotted path of a module of this model ('' for the model), else None."""
        return self._paths.get(id(module))

    def is_layer(self, module: Module) -> bool:
        """A module of this model without sub-modules (not a container, not the loss)."""
        return id(module) in self._leaves

    def own_parameters(self, module: Module) -> tuple[Parameter, ...]:
        """The module's own parameters (not its children's), each once."""
        return self._own[id(module)]

    def is_shared(self, param: Parameter) -> bool:
        return len(self.owners[id(param)]) > 1

    def parameter(self, path: str) -> Parameter | None:
        """The parameter any of whose dotted names is ``path``."""
        return self._param_by_path.get(path)

    def buffer(self, path: str) -> np.ndarray | None:
        return self._buffer_by_path.get(path)

    def unregistered_parameters(self) -> list[str]:
        """Dotted names of the model's parameters that appeared after it was indexed (e.g.
        created during a forward): nothing the engine built from the index knows them."""
        return [name for name, p in self.model.named_parameters() if id(p) not in self.owners]

    def module_info(self, path: str) -> ModuleInfo | None:
        return next((info for info in self.structure if info.path == path), None)

    def hook(
        self, forward: ForwardHook | None = None, backward: BackwardHook | None = None
    ) -> list[HookHandle]:
        """Watch every module of the model; remove the returned handles to stop."""
        model = self.model
        handles = []
        if forward is not None:
            handles.append(model.register_forward_hook(forward, recurse=True))
        if backward is not None:
            handles.append(model.register_backward_hook(backward, recurse=True))
        return handles

    # ------------------------------------------------------------------ description
    def _describe(self, path: str, module: Module) -> ModuleInfo:
        def dotted(name: str) -> str:
            return f"{path}.{name}" if path else name

        params = tuple(
            ParamInfo(
                name,
                dotted(name),
                self.owners[id(p)][0],
                self.owners[id(p)],
                tuple(p.shape),
                str(p.dtype),
                int(p.size),
            )
            for name, p in module.named_parameters(recurse=False, remove_duplicate=False)
        )
        buffers = tuple(
            BufferInfo(
                name, dotted(name), tuple(b.shape), str(b.dtype), module.is_persistent_buffer(name)
            )
            for name, b in module.named_buffers(recurse=False, remove_duplicate=False)
        )
        return ModuleInfo(
            path,
            path.rsplit(".", 1)[-1] if path else "",
            path.count(".") + 1 if path else 0,
            type(module).__name__,
            module.extra_repr(),
            non_default_repr(module),
            params,
            buffers,
        )
