"""The base of the debugger's dialogs: a modal screen that is dismissed at most once.

Two fast Enters (or an Enter and an Escape) queue two dismissals; Textual's ``dismiss`` pops
whatever screen is on top, so the second would pop the main screen (``ScreenStackError``) or
another dialog. Here only the first dismissal of a dialog that is on top does anything.
"""

from __future__ import annotations

from typing import TypeVar

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen

ResultType = TypeVar("ResultType")


class Dialog(ModalScreen[ResultType]):
    """A modal screen whose ``dismiss`` is idempotent, drawn as a centred box (its one child
    container; a dialog sets the box's width)."""

    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > Vertical, Dialog > VerticalScroll {
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $accent;
        background: $surface;
        padding: 0 1;
    }
    """

    _dismissed = False

    def dismiss(self, result: ResultType | None = None) -> AwaitComplete:
        if self._dismissed or not self.is_active:
            return AwaitComplete.nothing()
        self._dismissed = True
        return super().dismiss(result)
