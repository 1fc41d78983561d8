"""Hooks with a lifetime: each one is registered on modules and removed through its handle.

Nothing here is process-global: a hook lives in the modules it watches, so a model trained by
hand never runs through the hooks of a debugger that watched another model. The only global is
the set of live handles, which tests read to prove that nothing was left behind.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

_ids = itertools.count()
_live: set[int] = set()  # ids of the handles not removed yet


def live_hook_handles() -> int:
    """How many hook handles are registered and not removed yet (a leak check)."""
    return len(_live)


class HookHandle:
    """Removes its hook from every module it was put on.

    ``remove()`` may be called any number of times; a handle is also a context manager.

    Args:
        registries: the hook dicts (handle id -> hook) of the modules watched.
        hook: the function to put in each.
        on_remove: called once after the hook was taken out again.
    """

    __slots__ = ("_on_remove", "_registries", "id")

    def __init__(
        self,
        registries: Iterable[dict[int, Any]],
        hook: Any,
        on_remove: Callable[[], None] | None = None,
    ) -> None:
        self.id = next(_ids)
        self._registries = list(registries)
        self._on_remove = on_remove
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
        if self.id in _live:
            _live.discard(self.id)
            if self._on_remove is not None:
                self._on_remove()

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def report_backward(module: Any, hooks: dict[int, Any]) -> None:
    """Make ``module.backward`` call ``hooks`` after it returns.

    A module's backward is called by its parent's backward (``Sequential`` calls each child's),
    not by the module itself, so there is no ``__call__`` to run the hooks in. Instead the
    instance gets its own ``backward`` attribute that wraps the class's: the class stays as
    written, and ``super().backward()`` inside it is not reported twice.
    """
    if "backward" in module.__dict__:
        return  # already reporting
    backward = module.backward  # the class's, bound to the module

    def reporting_backward(*args: Any, **kwargs: Any) -> Any:
        grad_input = backward(*args, **kwargs)
        # *args: a loss's backward takes no grad_output (``criterion.backward()``)
        grad_output = args[0] if args else kwargs.get("grad_output")
        for hook in tuple(hooks.values()):
            hook(module, grad_output, grad_input)
        return grad_input

    module.__dict__["backward"] = reporting_backward


def stop_reporting_backward(module: Any) -> None:
    """Undo ``report_backward``: the class's ``backward`` is called directly again."""
    module.__dict__.pop("backward", None)
