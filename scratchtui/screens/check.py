"""The ``c`` screen: the recipe's pre-flight checks, pass or fail and the fix, line by line.

The checks (``scratchai.engine.checks.run_checklist``) run the user's code on copies of the
experiment, so the app runs them as a job in its one job thread, like a step: nothing else
trains meanwhile, and closing the screen early interrupts them. Each line is drawn as it
arrives (posted from the thread); the training state is untouched. The same checklist is
``scratchtui check`` headless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from scratchai.engine.checks import Checklist, CheckResult

from .dialog import Dialog


def result_text(result: CheckResult) -> Text:
    """One check: its verdict, name and measurement, and the fix on the next line."""
    mark = ("pass", "bold green") if result.passed else ("FAIL", "bold red")
    line = Text.assemble("[", mark, "] ", (result.name, "bold"), ": ", result.measured)
    if result.fix:
        line.append("\n       fix: ", "yellow")
        line.append(result.fix)
    return line


class CheckArrived(Message):
    """One check's result, posted from the job thread (``post_message`` is thread-safe)."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__()
        self.result = result


class CheckScreen(Dialog[Checklist | None]):
    """Shows the checklist's results as the app's job reports them (``arrived`` from the job
    thread, ``finish`` at its end); esc closes, returning the results once they are all in.

    Args:
        stop: interrupts the checks (called when the screen closes before they end).
        weights: which weights they judge, for the title, e.g. "the initial weights".
    """

    DEFAULT_CSS = """
    CheckScreen > VerticalScroll { width: 100; }
    CheckScreen Static { height: auto; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=True),
        Binding("q", "close", "Close", show=False),
        Binding("c", "close", "Close", show=False),
    ]

    def __init__(self, stop: Callable[[], object], weights: str = "") -> None:
        super().__init__()
        self._stop = stop
        self._weights = weights
        self.results: list[CheckResult] = []
        self.checklist: Checklist | None = None
        self.stopped = False  # the checks ended without a checklist (interrupted)

    def compose(self) -> ComposeResult:
        box = VerticalScroll()
        on = f" on {self._weights}" if self._weights else ""
        box.border_title = f"Pre-flight checks{on} (copies: training is not touched)"
        box.border_subtitle = "esc closes"
        with box:
            yield Static(
                Text("running the first check... (esc stops them)", style="dim"), id="check-lines"
            )
            yield Static("", id="check-summary")

    def arrived(self, result: CheckResult) -> None:
        """Called in the job thread with each result."""
        self.post_message(CheckArrived(result))

    def on_check_arrived(self, message: CheckArrived) -> None:
        if self.checklist is None:  # else the whole list is drawn already
            self.results.append(message.result)
            self._draw_lines()

    def finish(self, checklist: object) -> None:
        """The job's result handler (UI thread): every line and the summary; ``None`` when the
        checks were interrupted."""
        if not isinstance(checklist, Checklist):
            self.stopped = True
            self._show_summary(Text("interrupted: the checks stopped", style="bold yellow"))
            return
        self.checklist = checklist
        self.results = list(checklist.results)  # lines still in the message queue included
        self._draw_lines()
        failed = [r.name for r in checklist.results if not r.passed]
        self._show_summary(
            Text(f"{len(failed)} failed: " + ", ".join(failed), style="bold red")
            if failed
            else Text(f"all {len(checklist.results)} checks passed", style="bold green")
        )

    def _draw_lines(self) -> None:
        if not self._dismissed:  # closed while the checks ran: nothing left to draw on
            body = Text("\n").join(result_text(r) for r in self.results)
            if self.checklist is None and not self.stopped:  # a slow model: say it goes on
                body.append("\nrunning the next check... (esc stops them)", style="dim")
            self.query_one("#check-lines", Static).update(body)

    def _show_summary(self, summary: Text) -> None:
        if not self._dismissed:
            self.query_one("#check-summary", Static).update(summary)

    @property
    def text(self) -> str:
        """The lines as plain text (what tests assert on)."""
        return "\n".join(result_text(r).plain for r in self.results)

    def action_close(self) -> None:
        if self.checklist is None and not self.stopped:
            self._stop()  # the rest would train copies nobody looks at, holding the job thread
        self.dismiss(self.checklist)  # at most once (Dialog)
