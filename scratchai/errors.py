"""Errors that name the module path, the expected and the actual value."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .module import Module


class ShapeError(ValueError):
    """An input whose shape does not fit the module that received it.

    Raised inside a module's ``forward`` with a message about the module alone; the outermost
    ``Module.__call__`` rewrites it to name the module's path in the model and the module that
    produced the offending input.

    Attributes:
        module: the module that refused its input.
        producer: the module whose output was that input (None if it came from the caller).
        detail: the message without the path.
        path: the dotted path of ``module`` in the outermost model called ('' for the root).
    """

    def __init__(self, detail: str, module: Module | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.module = module
        self.producer: Module | None = None
        self.path: str | None = None

    def locate(self, root: Module) -> None:
        """Rewrite the message with the paths of ``module`` and ``producer`` inside ``root``."""
        paths = {id(m): name for name, m in root.named_modules()}

        def describe(m: Module) -> str:
            name = paths.get(id(m), "?")
            return f"'{name}' ({m.short_repr()})" if name else f"<root> ({m.short_repr()})"

        self.path = paths.get(id(self.module), "?")
        where = describe(self.module) if self.module is not None else "<unknown>"
        self.args = (f"in module {where}: {self.detail}{self._source(describe)}",)

    def _source(self, describe: Callable[[Module], str]) -> str:
        if self.producer is not None:
            return f"; it was produced by module {describe(self.producer)}"
        return "; it came from the caller's input to the model"


class ReturnError(ShapeError):
    """A module's forward or backward returned None, or a backward returned a gradient whose
    shape is not its input's. The message names the module that returned it (its path once
    the error has left the outermost module)."""

    def _source(self, describe: Callable[[Module], str]) -> str:
        return ""


def returned_none(module: Module, grad_output: Any) -> ReturnError:
    """The error for a backward that forgot its ``return``: handed on, the None would fail in
    the module before it, far from the bug."""
    return ReturnError(
        f"{type(module).__name__}.backward returned None instead of the gradient w.r.t. its "
        f"input (grad_output has shape {np.shape(grad_output)}): end backward with "
        "`return grad_input`",
        module,
    )


class StateDictError(KeyError):
    """``load_state_dict`` refused a state: every missing/unexpected key and bad shape listed."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: missing, truncated, corrupt or not safetensors.

    The message names the path and what is wrong. Nothing in the file is ever executed
    (checkpoints are safetensors: a JSON header and raw bytes, never pickle).
    """
