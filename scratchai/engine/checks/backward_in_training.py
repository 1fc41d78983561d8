"""The backward check as the stepper runs it: by itself before the first step when the model
holds modules the user wrote, and on demand; its failures become warnings like any rule's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from scratchai.engine.checks.backward import (
    BackwardReport,
    ModuleCheck,
    check_backward,
    has_own_modules,
)
from scratchai.engine.observe.monitor import Monitor
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity
from scratchai.engine.timeline.randomness import capture_random, restore_random
from scratchai.engine.views.model_index import ModelIndex

#: The warning rule of a module whose backward failed the check (and its breakpoint's name).
RULE = "backward_check"


def peek_batch(experiment: Any) -> np.ndarray:
    """The inputs of the experiment's next training batch, leaving the loader where it was."""
    loader = experiment.train_loader
    state, rng = loader.state_dict(), capture_random()  # a shuffle may draw from any
    try:
        xb, _, _, _ = loader.next_batch()
    finally:
        loader.load_state_dict(state)
        restore_random(rng)
    return xb


def warnings_of(report: BackwardReport, step: int) -> list[RuleWarning]:
    """One warning per module whose backward failed, naming the module and what is wrong."""
    found = []
    for check in report.failed:
        errors = ", ".join(f"{t.name} {t.max_rel_error:.2g}" for t in check.tensors)
        measured = f"max relative error {errors}; tolerance {check.tolerance:g}"
        if not errors:
            measured = ""
        elif check.one_call_passes:  # the numbers pass: the failure is the two-call check's
            measured = f"; one call alone passes ({measured}), two calls in one forward do not"
        else:
            measured = f" ({measured})"
        found.append(
            RuleWarning(
                RULE,
                Severity.WARNING,
                step,
                f"backward of '{check.path}' ({check.type_name}) is wrong: {check.problems[0]}",
                "Checked alone against finite differences on the current batch"
                + (measured if errors else "")
                + ". A wrong backward raises no error: the model trains on wrong gradients "
                "and ends worse, or not at all."
                + "".join(f" Also: {p}." for p in check.problems[1:]),
                (
                    Remedy(f"fix {check.type_name}.backward, then check it again"),
                    Remedy(
                        "check the module alone with sa.gradcheck(module, x) on a float64 copy "
                        "(Linear(..., dtype=np.float64))"
                    ),
                ),
                check.path,
            )
        )
    return found


class BackwardChecks:
    """Runs the backward check on a stepper's model and keeps the latest result per module.

    Attributes:
        pending: the check still has to run by itself before the first step (the model holds
            a module whose class is not scratchai's: its hand-written backward is the
            likeliest bug).
        results: path -> the latest ``ModuleCheck`` of that module.
    """

    def __init__(self, index: ModelIndex, experiment: Any, monitor: Monitor) -> None:
        self.index = index
        self.experiment = experiment
        self.monitor = monitor
        self.pending = has_own_modules(index.model)
        self.results: dict[str, ModuleCheck] = {}

    def run(self, x: np.ndarray, paths: Iterable[str] | None = None) -> BackwardReport:
        """Check the modules at ``paths`` (default all) on the batch ``x``."""
        self.pending = False
        report = check_backward(self.index.model, x, paths)
        self.results.update((m.path, m) for m in report.modules)
        return report

    def before_first_step(self, x: np.ndarray) -> None:
        """Check every module on the first batch; failures join the first step's warnings."""
        self.monitor.note(warnings_of(self.run(x), 1))

    def on_demand(
        self, x: np.ndarray | None, paths: Iterable[str] | None, step: int
    ) -> BackwardReport:
        """Check the modules at ``paths`` on the batch ``x`` (None before the first step: the
        next batch, read without moving the loader); failures join the warnings at once.

        The check runs on a copy of the model, so it may run in the middle of a batch: the
        forward's saves wait for their backward untouched."""
        report = self.run(x if x is not None else peek_batch(self.experiment), paths)
        # a check run again on the same step says nothing new: one warning, not a copy per run
        said = {(w.rule, w.target, w.message) for w in self.monitor.warnings if w.step == step}
        self.monitor.warnings.extend(
            w for w in warnings_of(report, step) if (w.rule, w.target, w.message) not in said
        )
        return report
