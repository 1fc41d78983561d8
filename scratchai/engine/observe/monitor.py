"""The monitor: turns each finished step into a record, judges it with the rules, and says
what the state machine's state is now and which breakpoints fire.

It keeps what judging needs over time (the rules' state, the conditions that hold, the log of
warnings and validation records) and hands the part a rewind must restore to the stepper.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import Any, NamedTuple

import numpy as np

from scratchai.engine.checks.data import InputSummary
from scratchai.engine.observe.probes import Probes
from scratchai.engine.observe.records import (
    EpochRecord,
    GradShare,
    Remedy,
    RuleWarning,
    Severity,
    State,
    StepRecord,
)
from scratchai.engine.observe.validation import is_classification
from scratchai.engine.rules import RuleBook
from scratchai.engine.settings import Breakpoints, Settings, fired_breakpoints
from scratchai.engine.stepping.passes import Tape


class Verdict(NamedTuple):
    """What one step led to: its record (with the warnings it raised), the state, and the
    breakpoints that fire (names with a short reason)."""

    record: StepRecord
    state: State
    fired: list[str]


class Monitor:
    """Probes and judges the steps of one registered model.

    Args:
        probes: the statistics of the model's arrays.
        settings: rule thresholds and the warning log's size.
        breakpoints: read on every step, so a change applies from the next step on.
        inputs: the training inputs' statistics, for the rules that blame the data.
    """

    def __init__(
        self,
        probes: Probes,
        settings: Settings,
        breakpoints: Breakpoints,
        inputs: InputSummary | None = None,
    ) -> None:
        self.probes = probes
        self.settings = settings
        self.breakpoints = breakpoints
        self._rules = RuleBook(settings)
        self._rules.inputs = inputs
        self.warnings: deque[RuleWarning] = deque(maxlen=settings.warning_capacity)
        self.epochs: list[EpochRecord] = []
        self._active: frozenset[str] = frozenset()  # keys of the conditions that hold now
        self._last_loss: float | None = None
        self._classification: bool | None = None  # decided on the first batch's output
        self._converged_at: int | None = None  # step where a run last paused on convergence
        self._noted: list[RuleWarning] = []  # found outside the rules, reported with the next step
        self._last_full: StepRecord | None = None  # the last record with its own layers
        self._layers_requested = False

    def step(
        self,
        counters: tuple[int, int, int],
        loss: float,
        output: Any,
        targets: np.ndarray,
        grad_sq: list[float],
        lr: float,
        tape: Tape,
        running: bool = False,
        shares: tuple[GradShare, ...] = (),
    ) -> Verdict:
        """Record and judge a finished step.

        Args:
            counters: (step, epoch, batch) of this step.
            grad_sq: each parameter's ``||grad||^2`` (``ModelIndex.params`` order), measured
                before the optimizer step.
            tape: the forward calls of the batch.
            running: inside a run, where the per-layer statistics are measured only every
                ``settings.layers_every`` steps, when a rule needs them or when asked
                (``request_layers``); the records in between carry the last ones.
            shares: each use's contribution to the gradient of a shared parameter.
        """
        step, epoch, batch = counters
        grad_norm = math.sqrt(sum(grad_sq))
        last = self._last_full
        if (
            not running
            or last is None
            or self._layers_requested
            or step % self.settings.layers_every == 0
            or self._rules.needs_layers(step, loss, grad_norm)
        ):
            self._layers_requested = False
            params, modules, buffers = self.layers(grad_sq, lr, tape)
            layers_step = None
        else:
            params, modules, buffers = last.params, last.modules, last.buffers
            layers_step = last.step  # the last full record measured its own
        if self._classification is None:
            self._classification = is_classification(output, targets)
        accuracy = None
        if self._classification:
            accuracy = np.count_nonzero(output.argmax(axis=1) == targets) / len(targets)
        record = StepRecord(
            step=step,
            epoch=epoch,
            batch=batch,
            loss=loss,
            accuracy=accuracy,
            grad_norm=grad_norm,
            lr=lr,
            modules=modules,
            params=params,
            buffers=buffers,
            layers_step=layers_step,
            grad_shares=shares,
        )
        verdict = self._judge(record, output.shape[1] if self._classification else None)
        if layers_step is None:
            self._last_full = verdict.record
        self._last_loss = loss
        return verdict

    def layers(self, grad_sq: list[float], lr: float, tape: Tape) -> tuple:
        """The per-layer statistics of a step: (params, modules, buffers) probes."""
        params, norms = self.probes.params(grad_sq, lr)
        return params, self.probes.modules(tape.layers, norms, lr), self.probes.buffers()

    def request_layers(self) -> None:
        """Measure the per-layer statistics of the next step (a display is about to show it)."""
        self._layers_requested = True

    def complete(self, record: StepRecord, grad_sq: list[float], tape: Tape) -> StepRecord:
        """``record`` with its own per-layer statistics, measured now: the model must still be
        as the step left it (the step a run pauses at, before anything else runs)."""
        if record.layers_fresh:
            return record
        params, modules, buffers = self.layers(grad_sq, record.lr, tape)
        complete = record._replace(
            params=params, modules=modules, buffers=buffers, layers_step=None
        )
        self._last_full = complete
        return complete

    def _judge(self, record: StepRecord, num_classes: int | None) -> Verdict:
        conditions = self._rules.evaluate(record, num_classes)
        new = [dataclasses.replace(w, step=record.step) for w in self._noted]
        self._noted = []
        active, diverging, converged = self._active, [], False
        for c in conditions:  # one loop: this runs on every step
            if c.key not in active:
                new.append(c.warning)
            severity = c.warning.severity
            if severity is Severity.DIVERGED:
                diverging.append(c.warning)
            elif severity is Severity.CONVERGED:
                converged = True
        if conditions or active:  # nothing held before or now: the set stays empty
            self._active = frozenset(c.key for c in conditions)
        # Convergence pauses a run once (until rewound past it): the plateau test flickers on
        # and off near its threshold. Divergence pauses every step it holds, since training
        # on from a diverged state only makes it worse.
        converged_now = converged and self._converged_at is None
        if converged_now:
            self._converged_at = record.step
        state = State.DIVERGED if diverging else State.CONVERGED if converged else State.UPDATED
        self.warnings.extend(new)
        fired = fired_breakpoints(
            self.breakpoints,
            record,
            self._last_loss,
            bool(diverging),
            converged_now,
            self.settings,
            "; ".join(w.message for w in diverging),
            new,
        )
        return Verdict(record._replace(warnings=tuple(new)) if new else record, state, fired)

    def note(self, warnings: list[RuleWarning]) -> None:
        """Warnings found outside the rules (the backward check before the first step): they
        join the next step's record, and can fire its breakpoints."""
        self._noted.extend(warnings)

    def epoch(self, epoch_record: EpochRecord) -> list[RuleWarning]:
        """Log a validation pass; returns the warnings it raised."""
        self.epochs.append(epoch_record)
        del self.epochs[: -self.settings.history_capacity]  # bounded, like the step history
        warnings = self._rules.epoch_warnings(epoch_record)
        self.warnings.extend(warnings)
        return warnings

    def late_parameters(self, step: int, names: list[str]) -> list[RuleWarning]:
        """Warn once about parameters created after the model was registered."""
        if not names or any(w.rule == "late_parameters" for w in self.warnings):
            return []
        shown = ", ".join(f"'{n}'" for n in names[:5]) + (" ..." if len(names) > 5 else "")
        warning = RuleWarning(
            "late_parameters",
            Severity.WARNING,
            step,
            f"{len(names)} parameter(s) appeared after the model was registered: {shown}",
            "They were created after __init__ (in a forward?): the optimizer was built "
            "before they existed and never updates them, and the debugger neither probes nor "
            "rewinds them.",
            (Remedy("create every Parameter in the module's __init__"),),
            names[0],
        )
        self.warnings.append(warning)
        return [warning]

    # ------------------------------------------------------------------ rewind
    def state_dict(self) -> tuple[dict, frozenset[str], float | None]:
        """What a rewind must restore: the rules' state, the conditions, the last loss."""
        return self._rules.state_dict(), self._active, self._last_loss

    def load_state_dict(self, state: tuple[dict, frozenset[str], float | None], step: int) -> None:
        """Go back to ``state``, saved before step ``step + 1``; later warnings and epochs go."""
        rules, self._active, self._last_loss = state
        self._last_full = None
        self._rules.load_state_dict(rules)
        if self._converged_at is not None and self._converged_at > step:
            self._converged_at = None
        self.epochs = [e for e in self.epochs if e.step <= step]
        kept = [w for w in self.warnings if w.step <= step]
        self.warnings.clear()
        self.warnings.extend(kept)
