"""The state of the module calls running in each thread: nesting depth, grad mode, and the
numbering of outermost forwards that tells a forward's saves from a stale one's.

Per thread as in PyTorch: a ``no_grad`` or a forward in one thread (a check running on a copy of
the model) must not change what a forward in another thread saves or counts. ``Module.__call__``
and ``save_for_backward`` read it on every call, so it is one slotted object per thread reached
with one ``threading.local`` lookup (the attributes of a ``threading.local`` subclass cost
several times more).
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .module import Module


class CallState:
    """One thread's module calls: how deep, which outermost forward, grad mode."""

    __slots__ = ("depth", "generation", "grad_enabled", "last_finished")

    def __init__(self) -> None:
        self.depth = 0
        # this thread's outermost forward, numbered across threads (a layer-stepped forward
        # and its backward run in different threads): saves from older forwards are dropped
        self.generation = 0
        self.last_finished: Module | None = None  # the module whose forward returned last
        self.grad_enabled = True


thread_local = threading.local()
generations = itertools.count(1)  # next() on it is atomic: numbers unique across threads


def new_state() -> CallState:
    """The call state of a thread that has none yet."""
    thread_local.state = state = CallState()
    return state


def current() -> CallState:
    """This thread's call state."""
    try:
        return thread_local.state
    except AttributeError:
        return new_state()


class no_grad:
    """Context manager: forwards inside it save nothing for backward (evaluation, inference)."""

    def __enter__(self) -> None:
        state = current()
        self._previous = state.grad_enabled
        state.grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        current().grad_enabled = self._previous


def call_depth() -> int:
    """How many ``Module.__call__``s are running now (0 outside any forward)."""
    return current().depth
