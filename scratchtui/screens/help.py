"""The ``?`` screen: every key of the debugger, what it does, and how to read the panels.

The keys come from the actions table (``actions.py``), the panels (and the keys that choose
them) from the panel registry (``panels.py``); then what the marks on screen mean (``MARKS``).
The command palette's "Keys" opens this same screen: one help.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..actions import help_lines
from ..panels import PANELS
from .dialog import Dialog

#: Shown under the help while some of it is below the bottom edge.
SCROLL_HINT = "more below: ↓ / pgdn"
#: What the marks on screen mean: (the mark, where it is and what it says), one line each at
#: 80 columns.
MARKS = (
    ("✓ / ✗", "tree: backward matches finite differences / does not (g, G)"),
    ("<-> name", "tree: a weight shared with that module (counted once)"),
    ("naive", "title, tree root: the count with a shared weight counted per owner"),
    ("▸ / ◂", "layers: ran forward / gradient flowed back, this batch (l, p)"),
    ("undone", "warnings: a rewind undid its step; later fixed, or fired again"),
)


class HelpBody(VerticalScroll):
    """The scrolling body; its subtitle says when more is below the bottom edge."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.update_hint()

    def on_resize(self) -> None:
        self.call_after_refresh(self.update_hint)

    def update_hint(self) -> None:
        self.border_subtitle = SCROLL_HINT if self.scroll_y < self.max_scroll_y else ""


class HelpScreen(Dialog[None]):
    """Lists every key and every panel, from the tables the app's bindings and its main
    screen are built from, so the three cannot disagree."""

    DEFAULT_CSS = """
    HelpScreen > HelpBody { width: 96; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", show=True),
        Binding("question_mark", "close", "Close", show=False),
        Binding("q", "close", "Close", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        #: (keys as written, what they do), in the order shown
        self.keys = help_lines(PANELS)

    def compose(self) -> ComposeResult:
        scroll = HelpBody()
        scroll.border_title = "ScratchAI keys (esc closes)"
        with scroll:
            yield Static(self._key_table(), id="help-keys")
            yield Static(self._panel_table(), id="help-panels")
            yield Static(self._marks_table(), id="help-marks")

    def _key_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for key, description in self.keys:
            table.add_row(key, description)
        return table

    def _panel_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold magenta", no_wrap=True)
        table.add_column()
        for spec in PANELS:
            table.add_row(spec.name, spec.help)
        return table

    def _marks_table(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold green", no_wrap=True)
        table.add_column()
        for mark, meaning in MARKS:
            table.add_row(mark, meaning)
        return table

    @property
    def text(self) -> str:
        """The keys and the marks as plain text (what tests assert on)."""
        lines = [*self.keys, *MARKS]
        return "\n".join(f"{key}  {description}" for key, description in lines)

    def action_close(self) -> None:
        self.dismiss(None)
