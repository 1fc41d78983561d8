"""Every warning the engine's rules raised, with its diagnosis and remedies, newest first.

Selecting a warning (enter or click) posts ``WarningSelected`` so the app can highlight the
module or parameter it names in the tree and the table. A line above the list says why the
last run paused, when a breakpoint stopped it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from scratchai.engine import Severity, Stepper, Warning

from ..messages import WarningSelected

_SEVERITY_STYLE = {
    Severity.INFO: "cyan",
    Severity.WARNING: "yellow",
    Severity.DIVERGED: "bold red",
    Severity.CONVERGED: "bold green",
}


def warning_text(warning: Warning) -> Text:
    """One warning as the lines a user reads: what and where, why, what to do."""
    text = Text()
    text.append(f"step {warning.step} ", style="dim")
    text.append(warning.severity.value, style=_SEVERITY_STYLE.get(warning.severity, ""))
    if warning.target:
        text.append(" at ")
        text.append(warning.target, style="bold magenta")
    text.append(f"  {warning.message}\n")
    text.append("  why: ", style="dim")
    text.append(warning.diagnosis)
    for remedy in warning.remedies:
        text.append("\n  fix: ", style="dim green")
        text.append(remedy)
    return text


class WarningList(OptionList):
    """The list itself; its options' ids index ``WarningsPanel.warnings``."""


class WarningsPanel(Vertical):
    """The warnings of the run so far and, after an automatic pause, the reason for it.

    Args:
        stepper: the engine whose ``warnings`` this lists.
    """

    DEFAULT_CSS = """
    WarningsPanel { height: 1fr; }
    WarningsPanel > #pause-reason { height: auto; max-height: 4; color: $warning; display: none; }
    WarningsPanel > #pause-reason.-shown { display: block; }
    WarningsPanel > WarningList, WarningsPanel > WarningList:focus { height: 1fr; border: none; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        super().__init__(**kwargs)
        #: the warnings on display, newest first
        self.warnings: tuple[Warning, ...] = ()
        self._stepper = stepper
        self.reason_text = ""
        self.reason = Static("", id="pause-reason")
        self.list = WarningList(id="warning-list")

    def compose(self) -> ComposeResult:
        yield self.reason
        yield self.list

    def on_mount(self) -> None:
        self.refresh_from(self._stepper)

    # ------------------------------------------------------------------ the widget contract
    def refresh_from(self, stepper: Stepper) -> None:
        """Rebuild the list only when the engine's warnings changed (new ones, or a rewind)."""
        current = stepper.warnings
        if (
            self.list.option_count
            and len(current) == len(self.warnings)
            and (not current or current[-1] is self.warnings[0])
        ):
            return
        self.warnings = tuple(reversed(current))
        if not self.warnings:
            self.list.set_options([Option(Text("no warnings yet", style="dim"), disabled=True)])
            return
        self.list.set_options(
            Option(warning_text(w), id=str(i)) for i, w in enumerate(self.warnings)
        )
        self.list.highlighted = 0

    def highlight(self, path: str | None) -> None:
        """Move to the newest warning that names ``path`` (if any)."""
        for i, warning in enumerate(self.warnings):
            if path and warning.target == path:
                self.list.highlighted = i
                return

    def show_reason(self, reason: str | None) -> None:
        """Show why the last run paused (None hides the line)."""
        self.reason_text = f"paused: {reason}" if reason else ""
        self.reason.update(Text(self.reason_text))
        self.reason.set_class(bool(reason), "-shown")

    @property
    def text(self) -> str:
        """Everything the panel says, as plain text (for tests and screen readers)."""
        lines = [self.reason_text] if self.reason_text else []
        lines += [warning_text(w).plain for w in self.warnings]
        return "\n".join(lines)

    # ------------------------------------------------------------------ events
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is None:
            return
        warning = self.warnings[int(event.option_id)]
        self.post_message(WarningSelected(warning.target or None))
