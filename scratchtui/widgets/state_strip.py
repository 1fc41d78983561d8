"""The lesson's state machine as a strip, the current state highlighted, with the counters.

Two lines: ``defined > registered > forward > loss > backward > updated > converged | diverged``
and ``step 12  epoch 1  batch 13/50  lr 0.1  loss 2.301  ...``. Everything shown is read from
the stepper; nothing is computed here. Epochs are shown 1-based (the engine counts from 0), like
every other panel; the loss is the batch in progress's once its loss phase ran, else the last
completed step's.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from scratchai.engine import State, Stepper

from .format import num
from .layer_table import BACKWARD_MARK, FORWARD_MARK

#: Style of the current state, by state (the end states get their own colour).
_CURRENT = {
    State.CONVERGED: "bold black on green",
    State.DIVERGED: "bold white on red",
}
_CURRENT_DEFAULT = "bold black on yellow"
#: What a batch paused between two phases has just done (no layer is active there).
_BETWEEN_PHASES = {
    State.FORWARD: "forward done, next: loss",
    State.LOSS: "loss done, next: backward",
    State.BACKWARD: "backward done, next: update",
}

#: How many ways line two has to say less when it does not fit (``StateStrip._counters``).
SQUEEZES = 3
#: The key of each step that can wait in the queue (``controls/stepping.py``).
_QUEUED_KEY = {"batch": "n", "phase": "p", "layer": "l"}


class StateStrip(Static):
    """The state machine with the current state highlighted, plus step, epoch, batch, lr, loss.

    Args:
        stepper: the engine to follow.
    """

    DEFAULT_CSS = """
    StateStrip { height: 2; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        super().__init__(**kwargs)
        self._stepper = stepper
        #: 'paused', 'running', 'pausing', 'stepping' or 'interrupting' (set by the app;
        #: shown at the end of line two)
        self.mode = "paused"
        #: what the job thread does ("batch", "run"...) and since when (``time.monotonic``)
        self.job = ""
        self.since: float | None = None
        #: the steps waiting behind the one running ("batch", "layer"...), oldest first
        self.queued: tuple[str, ...] = ()
        self.refresh_from(stepper)

    def refresh_from(self, stepper: Stepper) -> None:
        """Redraw from the stepper's current counters."""
        self._stepper = stepper
        self.update(self.render_strip())

    def on_resize(self) -> None:
        self.refresh_from(self._stepper)  # the separators depend on the width

    def highlight(self, path: str | None) -> None:
        """The strip is per model; the active layer is already shown on line two."""

    def set_mode(self, mode: str, job: str = "", since: float | None = None) -> None:
        """Show whether a job runs in the background ('running' a run, 'stepping' a step, for
        how long since ``since``) or the debugger waits for a key ('paused')."""
        self.mode, self.job, self.since = mode, job, since
        self.refresh_from(self._stepper)

    def render_strip(self) -> Text:
        """Both lines as one Rich Text (public so tests can read what the user sees)."""
        s = self._stepper
        text = Text(no_wrap=True, overflow="ellipsis")
        # 80 columns fit the states only with tight separators
        tight = 0 < self.content_size.width < 84
        for i, state in enumerate(State):
            if i:
                sep = "|" if state is State.DIVERGED else ">"
                text.append(sep if tight else f" {sep} ", style="dim")
            style = _CURRENT.get(state, _CURRENT_DEFAULT) if state is s.state else "dim"
            text.append(state.value, style=style)
        text.append("\n")
        width = self.content_size.width
        for squeeze in range(SQUEEZES):  # the first that fits (80 columns: mid-batch, a job)
            counters = self._counters(s, tight, squeeze)
            if not tight or counters.cell_len <= width:
                break
        text.append_text(counters)
        return text

    def _counters(self, s: Stepper, tight: bool = False, squeeze: int = 0) -> Text:
        """Line two. ``squeeze`` 1: the active layer as a mark and its path (no type, no
        direction word); 2: also no "(now)" and a shorter "epoch"."""
        record = s.last_step
        loader_len = len(s.experiment.train_loader)
        started = s.state not in (State.DEFINED, State.REGISTERED)  # a batch has been drawn
        gap = " " if tight else "  "  # 80 columns: room for the active layer and the mode
        line = Text()
        for label, value, style in (
            ("step", str(s.step), "bold"),
            ("epoch" if squeeze < 2 else "ep", str(s.epoch + 1), ""),  # 1-based, as the charts
            ("batch", f"{s.batch + 1 if started else 0}/{loader_len}", ""),
            ("lr", num(s.lr), "bold cyan"),
        ):
            line.append(f"{label} ", style="dim")
            line.append(value, style=style)
            line.append(gap)
        line.append("loss ", style="dim")
        loss_style = "bold red" if s.state is State.DIVERGED else "bold"
        if s.mid_batch and s.batch_loss is not None:
            line.append(num(s.batch_loss), style="bold yellow")
            if squeeze < 2:
                line.append(" (now)" if tight else " (this batch)", style="yellow")
        else:
            line.append(num(record.loss if record is not None else None), style=loss_style)
            if s.mid_batch and record is not None and not tight:
                line.append(f" (step {record.step})", style="dim")
        line.append(gap)
        if s.active_path is not None and s.last_layer is not None:
            event = s.last_layer
            where = event.path or "(model)"
            if squeeze:
                mark = FORWARD_MARK if event.direction == "forward" else BACKWARD_MARK
                line.append(f"{mark}{where}", style="bold magenta")
            else:
                line.append(f"{event.direction} ", style="dim")
                line.append(f"{where} {event.type_name}", style="bold magenta")
            line.append(gap)
        elif s.mid_batch and s.state in _BETWEEN_PHASES and self.mode == "paused":
            line.append(_BETWEEN_PHASES[s.state], style="magenta")  # every l press changes it
            line.append(gap)
        elif s.mid_batch and s.state in _BETWEEN_PHASES:  # a job is in that phase now
            line.append(f"in {s.state.value}", style="magenta")
            line.append(gap)
        line.append_text(self._mode(tight))
        if not started and not tight:  # "registered" is real: the registry view replays it
            line.append("  a: registry", style="dim")
        return line

    def _mode(self, tight: bool) -> Text:
        """'paused', or what runs and for how long, and the key that interrupts it."""
        clock = f" {time.monotonic() - self.since:.1f}s" if self.since is not None else ""
        hint = (" [i]" if tight else "  i interrupts") if self.mode != "paused" else ""
        label, style = {
            "running": (f"> running{clock}", "bold green"),
            "pausing": ("pausing...", "yellow"),
            "stepping": (f"> {self.job}{clock}", "bold yellow"),
            "interrupting": (f"interrupting {self.job}{clock}", "bold red"),
        }.get(self.mode, ("paused", "dim"))
        text = Text(label, style=style)
        if self.queued:  # "then n n p": the keys waiting, as pressed
            keys = " ".join(_QUEUED_KEY.get(job, job) for job in self.queued)
            text.append(f" +{keys.replace(' ', '')}" if tight else f"  then {keys}", style="yellow")
        text.append(hint, style="dim")
        return text
