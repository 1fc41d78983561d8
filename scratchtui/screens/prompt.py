"""A small dialog that asks for one or a few values: a step to go to, a learning rate, the
checkpoint interval and rewind budget.

Each field parses its own text (``Field.parse`` raises ``ValueError`` with what is wrong); enter
in the last field applies, enter in another moves on; a value that does not parse is said under
the fields and the dialog stays. It returns ``{field name: value}`` (None on escape), once: a
second enter or escape after the first does nothing (dismissing twice raises
``ScreenStackError``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from .dialog import Dialog


@dataclass(frozen=True)
class Field:
    """One value to ask for.

    Attributes:
        name: its key in the result.
        label: what the dialog calls it.
        value: the text the input starts with.
        parse: text -> value; raises ``ValueError`` saying what is wrong.
    """

    name: str
    label: str
    value: str
    parse: Callable[[str], Any]


class PromptScreen(Dialog[dict[str, Any] | None]):
    """Asks for ``fields``; ``note`` is a line under them (what the values will do).

    Args:
        title: the dialog's border title.
        fields: the values to ask for, top to bottom.
        note: one or two lines of explanation.
    """

    DEFAULT_CSS = """
    PromptScreen > Vertical { width: 64; }
    PromptScreen .prompt-row { height: 1; margin-bottom: 1; }
    PromptScreen .prompt-row Label { width: 30; }
    PromptScreen .prompt-row Input { width: 1fr; }
    PromptScreen #prompt-note { color: $text-muted; height: auto; width: 100%; }
    PromptScreen #prompt-error { color: $error; height: auto; width: 100%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, fields: Sequence[Field], note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.fields = tuple(fields)
        self.note = note

    def compose(self) -> ComposeResult:
        box = Vertical()
        box.border_title = self.title_text
        box.border_subtitle = "enter applies · esc cancels"
        with box:
            for field in self.fields:
                with Horizontal(classes="prompt-row"):
                    yield Label(field.label)
                    yield Input(field.value, id=f"prompt-{field.name}", compact=True)
            if self.note:
                yield Label(self.note, id="prompt-note")
            yield Label("", id="prompt-error")

    def on_mount(self) -> None:
        first = self.query_one(f"#prompt-{self.fields[0].name}", Input)
        first.focus()
        first.select_all()

    @property
    def error(self) -> str:
        """What is wrong with the values entered ('' when nothing was refused)."""
        return str(self.query_one("#prompt-error", Label).content)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query(Input))
        if event.input is not inputs[-1]:
            inputs[inputs.index(event.input) + 1].focus()
            return
        self.apply()

    def apply(self) -> None:
        """Parse every field; close with the values, or say what is wrong and stay."""
        values = {}
        for field in self.fields:
            text = self.query_one(f"#prompt-{field.name}", Input).value.strip()
            try:
                values[field.name] = field.parse(text)
            except ValueError as error:
                self.query_one("#prompt-error", Label).update(f"{field.label}: {error}")
                return
        self._close(values)

    def action_cancel(self) -> None:
        self._close(None)

    def _close(self, result: dict[str, Any] | None) -> None:
        self.dismiss(result)  # a second enter or escape does nothing (Dialog)


# ---------------------------------------------------------------------- parsers
def parse_step(text: str) -> int:
    """A step number, 0 or more."""
    try:
        step = int(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if step < 0:
        raise ValueError("steps count from 0 (before training)")
    return step


def parse_positive(text: str) -> float:
    """A finite number above 0 ('1e-3', '0.01')."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError("it must be a finite number above 0")
    return value


def parse_interval(text: str) -> int:
    """A whole number of steps, at least 1."""
    step = parse_step(text)
    if step < 1:
        raise ValueError("at least 1 step")
    return step


def parse_budget(text: str) -> float | None:
    """MiB, or 'auto' / empty for the default (4 weight copies, at least 16 MiB)."""
    if text.lower() in ("", "auto"):
        return None
    return parse_positive(text)
