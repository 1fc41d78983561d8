"""What the user's code raised inside an automatic check, in words: the checks report it as
such ("the forward of '1' (Float32Only) raised TypeError on a float64 copy of the batch: ..."),
never swallow it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def raised(exc: BaseException, where: str = "") -> str:
    """``ValueError on a perturbed input: the message`` (``where`` may be ''); a
    ``SystemExit`` says what the code called."""
    name = type(exc).__name__ + (f" {where}" if where else "")
    if isinstance(exc, SystemExit):
        return f"{name}: it called {getattr(exc, 'called', 'sys.exit')}({exc.code!r})"
    return f"{name}: {exc}" if str(exc) else name


def raised_in(exc: BaseException, path_of: Callable[[Any], str | None]) -> str | None:
    """The path (``path_of(module)``) of the innermost module whose code raised ``exc``, read
    from its traceback (None when no module with a path is in it, or only the model itself)."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        path = path_of(tb.tb_frame.f_locals.get("self"))
        found = path or found
        tb = tb.tb_next
    return found


def forward_raised(
    exc: BaseException,
    path_of: Callable[[Any], str | None],
    modules: dict[str, Any],
    where: str = "",
) -> str:
    """``the forward of '1' (Float32Only) raised TypeError <where>: ...`` (or of the model)."""
    path = raised_in(exc, path_of)
    who = f"'{path}' ({type(modules[path]).__name__})" if path else "the model"
    return f"the forward of {who} raised {raised(exc, where)}"
