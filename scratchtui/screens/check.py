"""The ``c`` screen: the recipe's pre-flight checks, pass or fail and the fix, line by line.

The checks (``scratchai.engine.checks.run_checklist``) run on copies of the experiment in a
thread worker, so the screen draws each line as it arrives; the training state is untouched.
The same checklist is ``scratchtui check`` headless.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from scratchai.engine import Experiment
from scratchai.engine.checks import Checklist, CheckResult, run_checklist

from .dialog import Dialog


def result_text(result: CheckResult) -> Text:
    """One check: its verdict, name and measurement, and the fix on the next line."""
    mark = ("pass", "bold green") if result.passed else ("FAIL", "bold red")
    line = Text.assemble("[", mark, "] ", (result.name, "bold"), ": ", result.measured)
    if result.fix:
        line.append("\n       fix: ", "yellow")
        line.append(result.fix)
    return line


class CheckScreen(Dialog[Checklist | None]):
    """Runs the checklist on ``experiment`` and shows it; esc closes (returning the results
    once they are all in).

    Args:
        experiment: the stepper's experiment (copied by the checks, never changed).
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

    def __init__(self, experiment: Experiment) -> None:
        super().__init__()
        self.experiment = experiment
        self.results: list[CheckResult] = []
        self.checklist: Checklist | None = None

    def compose(self) -> ComposeResult:
        box = VerticalScroll()
        box.border_title = "Pre-flight checks (on copies: training is not touched)"
        box.border_subtitle = "esc closes"
        with box:
            yield Static(Text("running...", style="dim"), id="check-lines")
            yield Static("", id="check-summary")

    def on_mount(self) -> None:
        self._run()

    @work(thread=True, exclusive=True)
    def _run(self) -> None:
        checklist = run_checklist(
            self.experiment, on_result=lambda r: self.app.call_from_thread(self._add, r)
        )
        self.app.call_from_thread(self._finish, checklist)

    def _add(self, result: CheckResult) -> None:
        self.results.append(result)
        if self._dismissed:  # closed while the checks ran: nothing left to draw on
            return
        body = Text("\n").join(result_text(r) for r in self.results)
        self.query_one("#check-lines", Static).update(body)

    def _finish(self, checklist: Checklist) -> None:
        self.checklist = checklist
        if self._dismissed:
            return
        failed = [r.name for r in checklist.results if not r.passed]
        summary = (
            Text(f"{len(failed)} failed: " + ", ".join(failed), style="bold red")
            if failed
            else Text(f"all {len(checklist.results)} checks passed", style="bold green")
        )
        self.query_one("#check-summary", Static).update(summary)

    @property
    def text(self) -> str:
        """The lines as plain text (what tests assert on)."""
        return "\n".join(result_text(r).plain for r in self.results)

    def action_close(self) -> None:
        self.dismiss(self.checklist)  # at most once (Dialog)
