"""Every warning the engine's rules raised, with its diagnosis and remedies, newest first.

Selecting a warning (enter or click) posts ``WarningSelected`` so the app can highlight the
module or parameter it names in the tree and the table. A line above the list says why the
last run paused, when a breakpoint stopped it. Steps that failed in the user's code are listed
too (``add_failure``), so the failure stays in the log after its traceback panel is hidden;
selecting one posts ``FailureSelected`` to show the traceback again. A remedy the debugger
can carry out ends with its key, from the actions table: "halve the learning rate ([)". The
warnings of steps a rewind undid stay listed, marked "undone", and once training passes their
step again "undone, fixed" (or "undone, fired again"); ``advised_step`` is the step a rewind
remedy names, which ``j`` offers.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from scratchai.engine import Remedy, RuleWarning, Severity, StepFailed, Stepper

from ..actions import REMEDY_KEYS
from ..messages import FailureSelected, WarningSelected

_SEVERITY_STYLE = {
    Severity.INFO: "cyan",
    Severity.WARNING: "yellow",
    Severity.DIVERGED: "bold red",
    Severity.CONVERGED: "bold green",
}


def warning_text(warning: RuleWarning) -> Text:
    """One warning as the lines a user reads: what and where, why, what to do (and the key
    that does it, where a key does)."""
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
        # a plain string (an older rule) names no action
        action = remedy.action if isinstance(remedy, Remedy) else None
        key = REMEDY_KEYS.get(action) if action else None
        if key:
            text.append(f" ({key})", style="bold cyan")
    return text


def failure_text(error: StepFailed, step: int) -> Text:
    """A failed step as a log entry: what raised, and where the model was kept."""
    text = Text()
    text.append(f"step {step + 1} ", style="dim")
    text.append("failed", style="bold red")
    text.append(f" during {error.place}: {error.summary}\n")
    text.append("  kept: ", style="dim")
    text.append(f"the model stays at step {step}, the last good one")
    text.append("\n  enter: ", style="dim green")
    text.append("show the traceback again")
    return text


#: Warnings of undone steps kept in view after a rewind.
UNDONE_KEPT = 20


class Undone(NamedTuple):
    """A warning of a step that a rewind undid (its advice may be what the user follows).

    Attributes:
        warning: the warning as it was.
        mark: "undone" while training has not reached its step again; then "undone, fixed"
            when the re-run passed its step without the same rule firing there on the same
            module, else "undone, fired again".
    """

    warning: RuleWarning
    mark: str = "undone"


Entry = RuleWarning | tuple[StepFailed, int] | Undone


class WarningList(OptionList):
    """The list itself; its options' ids index ``WarningsPanel.entries``."""


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
        #: the engine's warnings on display, newest first
        self.warnings: tuple[RuleWarning, ...] = ()
        #: failed steps, oldest first: (the error, the last good step)
        self.failures: list[tuple[StepFailed, int]] = []
        #: what each option shows, in display order (newest first)
        self.entries: list[Entry] = []
        #: warnings of steps a rewind undid, oldest first (shown first, marked "undone")
        self.undone: list[RuleWarning] = []
        self._undone_entries: list[Undone] = []
        self._listed_failures = 0
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
        """Rebuild the list only when the engine's warnings changed (new ones, or a rewind), or
        training reached the step of an undone warning again."""
        self._stepper = stepper
        current = stepper.warnings
        step = getattr(stepper, "step", None)  # a stand-in for a stepper may have none
        undone = self._undone_now(step, current) if step is not None else []
        if (
            self.list.option_count
            and len(current) == len(self.warnings)
            and (not current or current[-1] is self.warnings[0])
            and self._listed_failures == len(self.failures)
            and undone == self._undone_entries
        ):
            return
        self.warnings = tuple(reversed(current))
        self.undone = [u.warning for u in undone]
        self._undone_entries = undone
        self._listed_failures = len(self.failures)
        # oldest first by step: a failure after the warnings of the last good step, an undone
        # warning before the new warnings of its step; then reversed, newest first
        ordered: list[tuple[int, int, Entry]] = [(w.step, 1, w) for w in current]
        ordered += [(f[1], 2, f) for f in self.failures]
        ordered += [(u.warning.step, 0, u) for u in undone]
        ordered.sort(key=lambda item: item[:2])
        self.entries = [entry for _, _, entry in reversed(ordered)]
        if not self.entries:
            self.list.set_options([Option(Text("no warnings yet", style="dim"), disabled=True)])
            return
        self.list.set_options(Option(_entry_text(e), id=str(i)) for i, e in enumerate(self.entries))
        self.list.highlighted = 0

    def _undone_now(self, step: int, current: tuple[RuleWarning, ...]) -> list[Undone]:
        """The warnings of steps a rewind undid, oldest first, each marked: the advice being
        followed stays in view, and once training passes its step again, whether it helped.
        A warning that the re-run raised again, the same to the digit, is listed as itself."""
        kept = [w for w in self.undone if w not in current]
        gone = [w for w in reversed(self.warnings) if w.step > step and w not in current]
        kept += [w for w in gone if w not in kept]
        return [Undone(w, _undone_mark(w, step, current)) for w in kept[-UNDONE_KEPT:]]

    def advised_step(self, now: int) -> int | None:
        """The step a warning's rewind remedy names, before ``now``: the highlighted entry's,
        else the newest listed one's (None when no listed warning names one)."""
        highlighted = self.list.highlighted
        order = list(range(len(self.entries)))
        if highlighted is not None and highlighted < len(order):
            order.insert(0, highlighted)
        for index in order:
            entry = self.entries[index]
            warning = entry.warning if isinstance(entry, Undone) else entry
            if not isinstance(warning, RuleWarning):
                continue
            for remedy in warning.remedies:
                step = getattr(remedy, "step", None)
                if getattr(remedy, "action", None) == "rewind" and step is not None and step < now:
                    return step
        return None

    def add_failure(self, error: StepFailed, step: int) -> None:
        """Log a step that failed in the user's code (``step``: the last good one, kept)."""
        self.failures.append((error, step))
        self.refresh_from(self._stepper)

    @property
    def count(self) -> int:
        """How many entries the list holds (warnings and failed steps)."""
        return len(self.entries)

    @property
    def tab_count(self) -> int:
        """What the narrow layout's tab shows next to "warnings" (``widgets.panel.Panel``)."""
        return self.count

    def highlight(self, path: str | None) -> None:
        """Move to the newest warning that names ``path`` (if any)."""
        for i, entry in enumerate(self.entries):
            if path and isinstance(entry, RuleWarning) and entry.target == path:
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
        lines += [_entry_text(e).plain for e in self.entries]
        return "\n".join(lines)

    # ------------------------------------------------------------------ events
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_id is None:
            return
        entry = self.entries[int(event.option_id)]
        if isinstance(entry, Undone):
            entry = entry.warning
        if isinstance(entry, RuleWarning):
            self.post_message(WarningSelected(entry.target or None))
        else:
            self.post_message(FailureSelected(*entry))


def _undone_mark(warning: RuleWarning, step: int, current: tuple[RuleWarning, ...]) -> str:
    """How an undone warning is marked now that training is at ``step`` (``Undone.mark``)."""
    if warning.step > step:
        return "undone"
    again = any(
        w.step == warning.step and w.rule == warning.rule and w.target == warning.target
        for w in current
    )
    return "undone, fired again" if again else "undone, fixed"


def _entry_text(entry: Entry) -> Text:
    if isinstance(entry, Undone):
        mark = f"{entry.mark} "
        text = Text(mark, style="bold green" if entry.mark.endswith("fixed") else "bold dim")
        text.append_text(warning_text(entry.warning))
        text.stylize("dim", len(mark))
        return text
    return warning_text(entry) if isinstance(entry, RuleWarning) else failure_text(*entry)
