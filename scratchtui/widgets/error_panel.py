"""Shows the traceback of a step that failed inside the user's code; the app keeps running.

Hidden until a ``StepFailed`` arrives; the engine has already put the model back at the last
good step, and the panel says so. ``escape`` (bound by the app) hides it again.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from scratchai.engine import StepFailed


class ErrorPanel(VerticalScroll):
    """A scrollable traceback of the last failed step, with where it failed and what was kept."""

    DEFAULT_CSS = """
    ErrorPanel {
        display: none;
        height: auto;
        max-height: 50%;
        border: heavy $error;
        border-title-color: $error;
        padding: 0 1;
    }
    ErrorPanel.-shown { display: block; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "step failed"
        self.border_subtitle = "esc hides"
        #: the plain text on display ('' while hidden)
        self.text = ""
        self.body = Static("", id="error-body")

    def compose(self):
        yield self.body

    def show_failure(self, error: StepFailed, step: int) -> None:
        """Show ``error`` (raised during its phase); ``step`` is the last good step kept."""
        text = Text()
        text.append(f"Your code raised during {error.phase}: ", style="bold")
        text.append(error.summary, style="bold red")
        text.append(f"\nThe model was left at step {step}, the last good one.\n\n", style="dim")
        text.append(error.traceback_text.rstrip())
        self.text = text.plain
        self.body.update(text)
        self.add_class("-shown")
        self.scroll_end(animate=False)  # the raising line is at the bottom of a traceback

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
