"""Hooks with a lifetime: each one is registered on modules and removed through its handle.

Nothing here is process-global: a hook lives in the modules it watches, so a model trained by
hand never runs through the hooks of a debugger that watched another model. The only global is
the set of live handles, which tests read to prove that nothing was left behind.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .errors import ReturnError

_ids = itertools.count()
_live: set[int] = set()  # ids of the handles not removed yet


def live_hook_handles() -> int:
    """How many hook handles are registered and not removed yet (a leak check)."""
    return len(_live)


class HookHandle:
    """Removes its hook from every module it was put on.

    ``remove()`` may be called any number of times; a handle is also a context manager.
    """

    __slots__ = ("_registries", "id")

    def __init__(self, registries: Iterable[dict[int, Any]], hook: Any) -> None:
        self.id = next(_ids)
        self._registries = list(registries)
        for registry in self._registries:
            registry[self.id] = hook
        _live.add(self.id)

    @property
    def alive(self) -> bool:
        return self.id in _live

    def remove(self) -> None:
        for registry in self._registries:
            registry.pop(self.id, None)
        self._registries = []
        _live.discard(self.id)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def with_backward_hooks(backward: Callable) -> Callable:
    """Wrap a Module subclass's ``backward`` so that it reports to the module's backward hooks,
    refuses to return None (unless ``input_grad=False`` asked for that) and names the module
    in a ``ReturnError`` raised below it."""

    @functools.wraps(backward)
    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        # *args: a loss's backward takes no grad_output (``crit.backward()``).
        try:
            grad_input = backward(self, *args, **kwargs)
        except ReturnError as err:
            err.locate(self)  # each enclosing backward re-locates: the outermost names the path
            raise
        # None is allowed only when the caller asked for no input gradient (input_grad=False)
        if (
            grad_input is None
            and args
            and type(self).backward is hooked
            and kwargs.get("input_grad", True) is not False
        ):
            raise ReturnError(
                f"{type(self).__name__}.backward returned None instead of the gradient "
                "w.r.t. its input "
                f"(grad_output has shape {np.shape(args[0])}): end backward with "
                "`return grad_input`",
                self,
            )
        # Only the most-derived backward reports, so super().backward() does not report twice.
        hooks = self.__dict__.get("_backward_hooks")
        if hooks and type(self).backward is hooked:
            grad_output = args[0] if args else kwargs.get("grad_output")
            for hook in tuple(hooks.values()):
                hook(self, grad_output, grad_input)
        return grad_input

    hooked._reports_to_hooks = True  # type: ignore[attr-defined]
    return hooked
