"""Module: the base of every layer, and the recursive tree of parameters, buffers and children.

``__setattr__`` sorts each attribute into ``_parameters``, ``_modules`` or ``_buffers`` and also
stores it in the instance ``__dict__``, so reading ``self.W`` is an ordinary attribute lookup
(``__getattr__`` only runs for names that do not exist, and then it raises).

Every layer writes its backward next to its forward. A forward that will need values in its
backward saves them with ``self.save_for_backward(...)``; the backward takes them back with
``self.saved_for_backward()``. The saves form a stack, so a module used twice in one forward
gets its two backwards in the right (reverse) order.

Hooks (``register_forward_hook``, ``register_backward_hook``) let a tool watch the calls from
outside: the debugger records, checks and interrupts a step through them, and nothing of it
is written here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from . import html_repr
from .call_state import calls
from .errors import ReturnError, ShapeError, StateDictError
from .hooks import HookHandle, report_backward, stop_reporting_backward
from .parameter import Parameter
from .state_check import check_state

ForwardHook = Callable[["Module", tuple, Any], None]
BackwardHook = Callable[["Module", Any, Any], None]


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, assign Parameters, sub-Modules and buffers as
    attributes, and implement ``forward(x)`` and ``backward(grad_output) -> grad_input``.
    """

    training: bool
    accepts_input_grad = False  # backward(grad_output, input_grad=False) may skip grad wrt input
    formula: str | None = None  # what forward computes, e.g. "X @ W + b" (the flow view shows it)

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = {}
        d["_modules"] = {}
        d["_buffers"] = {}
        d["_non_persistent"] = set()
        d["_saved"] = []  # what forwards saved for their backwards, a stack
        d["_saved_in"] = -1  # the outermost forward those saves belong to
        d["_forward_hooks"] = {}  # handle id -> hook
        d["_backward_hooks"] = {}
        d["training"] = True

    # ------------------------------------------------------------------ registration
    def _registries(self, name: str, kind: str) -> tuple[dict, dict, dict]:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {kind} '{name}' before Module.__init__() in "
                f"{type(self).__name__}: call super().__init__() first in __init__"
            )
        return d["_parameters"], d["_modules"], d["_buffers"]

    def _forget(self, name: str, keep: str | None = None) -> None:
        """Unregister ``name`` from every registry but ``keep`` (re-assigning a name keeps its
        place in its registry, so traversal and state_dict order stay as PyTorch's)."""
        d = self.__dict__
        for registry in ("_parameters", "_modules", "_buffers"):
            if registry != keep:
                d[registry].pop(name, None)
        d["_non_persistent"].discard(name)

    def _refuse_cycle(self, name: str, child: Module) -> None:
        """A module tree has no cycles: ``child`` may not be this module or contain it.

        (Every traversal, ``state_dict``, ``repr`` and the forward would loop forever.)
        """
        for path, module in child.named_modules(name):
            if module is self:
                where = "itself" if path == name else f"this {type(self).__name__}, at '{path}'"
                raise ValueError(
                    f"cannot register sub-module '{name}' ({type(child).__name__}) in "
                    f"{type(self).__name__}: it would contain {where}, a cycle; a module tree "
                    "must not contain a module inside itself"
                )

    def _check_parameter(self, name: str, param: Parameter) -> None:
        """Refuse a parameter that cannot fit this module (layers override; default accepts)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter):
            self._registries(name, "Parameter")
            self._check_parameter(name, value)
            self._forget(name, "_parameters")
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._registries(name, "Module")
            self._refuse_cycle(name, value)
            self._forget(name, "_modules")
            self._modules[name] = value
        elif "_parameters" in self.__dict__:
            if name in self._parameters:
                if value is not None:
                    raise TypeError(
                        f"cannot assign {type(value).__name__} to '{name}' of "
                        f"{type(self).__name__}: '{name}' is a registered Parameter; assign a "
                        f"Parameter, or change values in place with self.{name}.data[...] = ..."
                    )
                self._parameters[name] = None
            elif name in self._modules:
                if value is not None:
                    raise TypeError(
                        f"cannot assign {type(value).__name__} to '{name}' of "
                        f"{type(self).__name__}: '{name}' is a sub-module; assign a Module or None"
                    )
                self._modules[name] = None
            elif name in self._buffers:
                if value is not None and not isinstance(value, np.ndarray):
                    raise TypeError(
                        f"cannot assign {type(value).__name__} to buffer '{name}' of "
                        f"{type(self).__name__}: a buffer holds an ndarray or None"
                    )
                self._buffers[name] = value
        object.__setattr__(self, name, value)

    def __getstate__(self) -> dict[str, Any]:
        # A copy (copy.deepcopy, pickle) is a new model: no one's hooks watch it yet.
        state = self.__dict__.copy()
        state["_forward_hooks"] = {}
        state["_backward_hooks"] = {}
        state.pop("backward", None)  # the hooks' reporting wrapper (see hooks.report_backward)
        return state

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup failed: never invent a value for a typo.
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if "_parameters" in self.__dict__:
            self._forget(name)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an optional parameter such as a missing bias)."""
        self._registries(name, "Parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter('{name}') expects a Parameter or None, "
                f"got {type(param).__name__}"
            )
        if param is None:
            self._forget(name, "_parameters")
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, array: np.ndarray | None, persistent: bool = True) -> None:
        """Register non-trainable state that travels with the model (e.g. a running mean).

        Args:
            name: attribute name.
            array: the buffer's array, or None.
            persistent: whether ``state_dict()`` includes it.
        """
        _, _, buffers = self._registries(name, "buffer")
        if array is not None and not isinstance(array, np.ndarray):
            raise TypeError(
                f"register_buffer('{name}') expects an ndarray or None, got {type(array).__name__}"
            )
        self._forget(name, "_buffers")
        buffers[name] = array
        if not persistent:
            self._non_persistent.add(name)
        object.__setattr__(self, name, array)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as a child called ``name`` (``None`` keeps an empty slot)."""
        self._registries(name, "Module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module('{name}') expects a Module, got {type(module).__name__}")
        if "." in name or name == "":
            raise KeyError(f"module name must be non-empty and contain no '.', got '{name}'")
        if module is not None:
            self._refuse_cycle(name, module)
        self._forget(name, "_modules")
        self._modules[name] = module
        object.__setattr__(self, name, module)

    # ------------------------------------------------------------------ traversal
    def named_modules(
        self, prefix: str = "", remove_duplicate: bool = True, _memo: set[int] | None = None
    ) -> Iterator[tuple[str, Module]]:
        """Pre-order walk: this module (named ``prefix``), then each child's subtree.

        A module reachable twice is yielded once, under its first name, unless
        ``remove_duplicate`` is False. Iterative, so any nesting depth works.
        """
        memo = set() if _memo is None else _memo
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if remove_duplicate:
                if id(module) in memo:
                    continue
                memo.add(id(module))
            yield path, module
            children = [
                (f"{path}.{name}" if path else name, child)
                for name, child in module._modules.items()
                if child is not None
            ]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct children, each once."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Any]]:
        modules = (
            self.named_modules(prefix, remove_duplicate) if recurse else iter([(prefix, self)])
        )
        seen: set[int] = set()
        for module_path, module in modules:
            for name, member in module.__dict__[registry].items():
                if member is None:
                    continue
                if remove_duplicate:
                    if id(member) in seen:
                        continue
                    seen.add(id(member))
                yield (f"{module_path}.{name}" if module_path else name), member

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Pre-order over modules, own parameters first; a shared Parameter appears once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, np.ndarray]]:
        """Like ``named_parameters`` for buffers (persistent or not)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def num_parameters(self, deduplicate: bool = True) -> int:
        """Count trainable scalars; ``deduplicate=False`` counts a shared weight once per use."""
        return sum(p.size for _, p in self.named_parameters(remove_duplicate=deduplicate))

    def is_leaf(self) -> bool:
        """True for a module without sub-modules: a layer, not a container."""
        return not any(child is not None for child in self._modules.values())

    def is_persistent_buffer(self, name: str) -> bool:
        """Whether this module's own buffer ``name`` is saved in ``state_dict()``."""
        if self._buffers.get(name) is None:
            raise KeyError(f"{type(self).__name__} has no buffer '{name}'")
        return name not in self._non_persistent

    # ------------------------------------------------------------------ hooks
    def register_forward_hook(self, hook: ForwardHook, *, recurse: bool = False) -> HookHandle:
        """Call ``hook(module, inputs, output)`` after this module's forward (with ``recurse``,
        after the forward of every module of its tree, each shared module once).

        Returns:
            a handle whose ``remove()`` takes the hook off again (modules added to the tree
            later are not watched).
        """
        modules = self.modules() if recurse else (self,)
        return HookHandle((m._forward_hooks for m in modules), hook)

    def register_backward_hook(self, hook: BackwardHook, *, recurse: bool = False) -> HookHandle:
        """Call ``hook(module, grad_output, grad_input)`` after this module's backward; see
        ``register_forward_hook``."""
        modules = list(self.modules()) if recurse else [self]
        for module in modules:
            report_backward(module, module._backward_hooks)

        def stop_reporting() -> None:
            for module in modules:
                if not module._backward_hooks:
                    stop_reporting_backward(module)

        return HookHandle((m._backward_hooks for m in modules), hook, stop_reporting)

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Every parameter and persistent buffer by dotted name, aliases included.

        The values are the live arrays (like PyTorch, which shares storage): copy them to keep a
        snapshot.
        """
        state: dict[str, np.ndarray] = {}
        self._collect_state(prefix, state)
        return state

    def _collect_state(self, prefix: str, state: dict[str, np.ndarray]) -> None:
        # Every path, shared modules under each of their names: every alias key is present.
        for path, module in self.named_modules(prefix.rstrip("."), remove_duplicate=False):
            dotted = f"{path}." if path else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dotted + name] = param.data
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent:
                    state[dotted + name] = buf

    def load_state_dict(
        self, state: Mapping[str, Any], strict: bool = True, allow_nonfinite: bool = False
    ) -> tuple[list[str], list[str]]:
        """Copy values from ``state`` into the existing arrays (so weight ties survive).

        All-or-nothing: every value is checked and cast first (see ``state_check``); every
        problem (missing and unexpected keys when ``strict``; always: a shape mismatch, a value
        the array's dtype cannot hold, integers for a float array, NaN/Inf unless
        ``allow_nonfinite``, alias keys of a tied weight that disagree) is collected into one
        ``StateDictError`` and the model is left exactly as it was.

        Returns:
            ``(missing_keys, unexpected_keys)``.
        """
        targets = self.state_dict()
        values, missing, unexpected, problems = check_state(targets, state, strict, allow_nonfinite)
        if problems:
            raise StateDictError(
                f"load_state_dict into {type(self).__name__} refused, nothing was changed:\n  "
                + "\n  ".join(problems)
            )
        for key, value in values.items():
            np.copyto(targets[key], value)
        return missing, unexpected

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Set ``training`` on this module and every descendant; returns self."""
        for module in self.modules():
            module.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.zero_grad()

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every descendant, children first, then on self; returns self."""
        stack: list[tuple[Module, bool]] = [(self, False)]
        while stack:  # iterative post-order: any nesting depth works
            module, children_done = stack.pop()
            if children_done:
                fn(module)
                continue
            stack.append((module, True))
            stack.extend((child, False) for child in reversed(list(module.children())))
        return self

    # ------------------------------------------------------------------ forward / backward
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward``, check what it returned, then call the forward hooks."""
        depth = calls.depth
        if not depth:  # the outermost call: a new forward of the model begins
            calls.forward_number += 1
            calls.last_finished = None
        calls.depth = depth + 1
        try:
            out = self.forward(*args, **kwargs)
            if out is None:
                raise ReturnError(
                    f"{type(self).__name__}.forward returned None instead of its output: end "
                    "forward with `return out`",
                    self,
                )
        except ShapeError as err:
            if err.module is None:  # raised by this module's own forward
                err.module, err.producer = self, calls.last_finished
            if not depth:  # leaving the model: name the module by its path in it
                err.locate(self)
            raise
        finally:
            calls.depth = depth
        calls.last_finished = self
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                hook(self, args, out)
        return out

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, grad_output: Any) -> Any:
        """Add parameter gradients into ``.grad`` and return the gradient w.r.t. the input."""
        raise NotImplementedError(f"{type(self).__name__} does not define backward()")

    def save_for_backward(self, *values: Any) -> None:
        """Keep what this forward's backward will need (nothing is kept under ``no_grad``)."""
        if not calls.grad_enabled:
            return
        if self._saved_in != calls.forward_number:
            # A new forward of the model began: what an older one saved (a forward whose
            # backward never ran) is stale, and would be taken back by the wrong backward.
            self._saved.clear()
            self.__dict__["_saved_in"] = calls.forward_number
        self._saved.append(values)

    def saved_for_backward(self) -> tuple:
        """Take back what the matching forward saved (the most recent unconsumed one)."""
        if not self._saved:
            raise RuntimeError(
                f"{type(self).__name__}.backward() has no saved forward: call the model "
                "forward (outside no_grad) once before each backward"
            )
        return self._saved.pop()

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """Hyper-parameters shown in the repr, e.g. ``in_features=128, out_features=64``."""
        return ""

    def short_repr(self) -> str:
        """``Type(hyper-parameters)`` without children."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        lines = [f"({name}): " + _indent(repr(child)) for name, child in self._modules.items()]
        if not lines:
            return self.short_repr()
        body = "\n  ".join(([self.extra_repr()] if self.extra_repr() else []) + lines)
        return f"{type(self).__name__}(\n  {body}\n)"

    def _repr_html_(self) -> str:
        """A notebook cell shows the same tree, and the parameters it holds."""
        own, naive = self.num_parameters(), self.num_parameters(deduplicate=False)
        shared = f" ({naive:,} counting each owner of a shared weight)" if naive != own else ""
        return html_repr.pre(repr(self), f"{own:,} parameters{shared}")


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
