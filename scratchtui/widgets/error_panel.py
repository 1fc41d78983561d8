"""Shows the traceback of a step that failed inside the user's code; the app keeps running.

Hidden until a ``StepFailed`` arrives; the engine has already put the model back at the last
good step, and the panel says so. ``escape`` (bound by the app) hides it again. It takes at most
a third of the screen, so the tree (and the module that raised) stays in view; the traceback
scrolls inside it, its last lines (where the error was raised) shown first.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from scratchai.engine import StepFailed


class ErrorPanel(Vertical):
    """What failed and what was kept (always in view), above the scrollable traceback."""

    DEFAULT_CSS = """
    ErrorPanel {
        display: none;
        height: 33%;
        min-height: 7;
        border: heavy $error;
        border-title-color: $error;
        padding: 0 1;
    }
    ErrorPanel.-shown { display: block; }
    ErrorPanel > #error-summary { height: auto; }
    ErrorPanel > VerticalScroll { height: 1fr; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "step failed"
        self.border_subtitle = "the traceback scrolls · esc hides"
        #: the plain text on display ('' while hidden)
        self.text = ""
        self.summary = Static("", id="error-summary")
        self.traceback = Static("", id="error-traceback")
        self._scroll = VerticalScroll(self.traceback)

    def compose(self) -> ComposeResult:
        yield self.summary
        yield self._scroll

    def show_failure(self, error: StepFailed, step: int) -> None:
        """Show ``error`` (raised during its phase); ``step`` is the last good step kept."""
        summary = Text()
        # "was interrupted" (i, ctrl+c) or "failed" (it raised, or exited)
        summary.append(f"The step {error.verb} during {error.place}: ", style="bold")
        summary.append(error.summary, style="bold red")
        summary.append(f"\nThe model is back at step {step}, the last good one.", style="dim")
        self._show("step failed", summary, error.traceback_text)

    def show_text(self, title: str, headline: str, details: str) -> None:
        """Show another error of the user's code (a reload that does not build)."""
        self._show(title, Text(headline, style="bold"), details)

    def _show(self, title: str, summary: Text, details: str) -> None:
        self.border_title = title
        traceback = Text(details.rstrip())
        self.text = f"{summary.plain}\n{traceback.plain}"
        self.summary.update(summary)
        self.traceback.update(traceback)
        self.add_class("-shown")
        # the raising line is at the bottom of a traceback
        self.call_after_refresh(self._scroll.scroll_end, animate=False)

    def hide(self) -> None:
        self.text = ""
        self.remove_class("-shown")

    @property
    def shown(self) -> bool:
        return self.has_class("-shown")

    def refresh_from(self, stepper: object) -> None:
        """Nothing follows the stepper here; a failure is shown when it happens."""

    def highlight(self, path: str | None) -> None:
        """Failures are not about one module."""
