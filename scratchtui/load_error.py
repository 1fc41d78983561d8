"""The page a served tab shows when the model file no longer builds.

``scratchtui serve`` checks the file once at start, but a teacher may edit it while the server
runs: each new tab then starts an app process that cannot load it. Exiting would leave the
learner's tab blank; this app shows the error there instead (the server's terminal has it too).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static


class LoadErrorApp(App[None]):
    """Shows why the model file could not be loaded; q quits.

    Args:
        message: the loader's error (the file, what failed and the traceback lines).
    """

    TITLE = "ScratchAI: the model file does not load"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("The model file does not load:", style="bold red"))
            yield Static(Text(self.message))
            yield Static(
                Text("Fix the file, then reload this page.", style="bold"), id="load-error-hint"
            )
        yield Footer()
