"""What ``Module.__call__`` keeps between calls: how deeply calls are nested, which module
returned last, which outermost forward runs now, and whether forwards save for backward.

One model is trained by one loop at a time, so this is one object for the process, like
micrograd's and minitorch's globals (PyTorch keeps its grad mode per thread).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .module import Module


class CallState:
    """The module calls in progress."""

    __slots__ = ("depth", "forward_number", "grad_enabled", "last_finished")

    def __init__(self) -> None:
        self.depth = 0  # how many Module.__call__s are running now
        # the outermost forward in progress: saves from an older one are stale (see Module)
        self.forward_number = 0
        self.last_finished: Module | None = None  # the module whose forward returned last
        self.grad_enabled = True


calls = CallState()


class no_grad:
    """Context manager: forwards inside it save nothing for backward (evaluation, inference)."""

    def __enter__(self) -> None:
        self._previous = calls.grad_enabled
        calls.grad_enabled = False

    def __exit__(self, *exc: object) -> None:
        calls.grad_enabled = self._previous


def call_depth() -> int:
    """How many ``Module.__call__``s are running now (0 outside any forward)."""
    return calls.depth


def reset_calls() -> None:
    """Forget the calls in progress. For the debugger: a forward it stopped with an exception
    that landed between two lines of ``Module.__call__`` may not have unwound its depth."""
    calls.depth = 0
    calls.last_finished = None
    calls.grad_enabled = True  # it may have landed inside a no_grad block
