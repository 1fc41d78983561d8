"""The contract every panel of the debugger follows (the registry is ``scratchtui/panels.py``).

A panel is built as ``Widget(stepper, id=..., classes=...)``, then told when to follow the
stepper and which module to point at; it never decides either itself, and it computes nothing:
it renders what the engine recorded.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from scratchai.engine import Stepper


@runtime_checkable
class Panel(Protocol):
    """What the main screen calls on every panel.

    A panel may also have a ``tab_count`` attribute (an int): the narrow layout's tab shows it
    next to the panel's name while it is not 0 (the warnings panel's number of entries).
    """

    def refresh_from(self, stepper: Stepper) -> None:
        """Redraw from the stepper's current state (once per key, or per tick while running)."""

    def highlight(self, path: str | None) -> None:
        """Point at the module or parameter ``path`` (None clears the mark)."""
