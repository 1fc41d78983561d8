"""Hooks with a lifetime: each one is registered on modules and removed through its handle.

Nothing here is process-global: a hook lives in the modules it watches, so a model trained by
hand never runs through the hooks of a debugger that watched another model. The only global is
the set of live handles, which tests read to prove that nothing was left behind.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

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
