"""The backward check as the stepper runs it: by itself before the first step when the model
holds modules the user wrote, and on demand; its failures become warnings like any rule's."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from scratchai.engine.checks.backward import (
    LOSS_PATH,
    BackwardReport,
    ModuleCheck,
    check_backward,
    has_own_modules,
    is_library_module,
)
from scratchai.engine.checks.loss_backward import check_loss_backward
from scratchai.engine.observe.monitor import Monitor
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity
from scratchai.engine.timeline.randomness import capture_random, restore_random
from scratchai.engine.views.model_index import ModelIndex

#: The warning rule of a module whose backward failed the check (and its breakpoint's name).
RULE = "backward_check"


def peek_batch(experiment: Any) -> tuple[np.ndarray, Any]:
    """The experiment's next training batch (inputs, targets), leaving the loader where it was."""
    loader = experiment.train_loader
    state, rng = loader.state_dict(), capture_random()  # a shuffle may draw from any
    try:
        xb, yb, _, _ = loader.next_batch()
    finally:
        loader.load_state_dict(state)
        restore_random(rng)
    return xb, yb


def could_not_finish(who: str, why: str, target: str, step: int) -> RuleWarning:
    """The user's code raised inside the check (of ``who``, e.g. "'1' (Scale)"): said as
    such, never swallowed."""
    return RuleWarning(
        RULE,
        Severity.WARNING,
        step,
        f"the backward check of {who} could not finish: {why}",
        "The check runs each module alone on a float64 copy of the batch, a few dozen times "
        "with one entry nudged by 1e-6, to compare its backward with finite differences. Your "
        "code raised there, so this backward is not checked: a step may raise the same error "
        "later, or the code depends on what the check changes (the dtype, the exact values).",
        (
            Remedy("read the error: the forward should accept any float64 input of this shape"),
            Remedy("check the module alone with sa.gradcheck(module, x) on a float64 copy"),
        ),
        target,
    )


def warnings_of(report: BackwardReport, step: int) -> list[RuleWarning]:
    """One warning per module whose backward failed (or whose check could not finish), naming
    the module and what is wrong."""
    found = []
    if report.error:
        found.append(could_not_finish("the model", report.error, report.error_path, step))
    for check in report.failed:
        is_loss = check.path == LOSS_PATH
        who = check.who
        target = "" if is_loss else check.path  # the loss is no node of the model's tree
        if check.raised:
            found.append(could_not_finish(who, check.raised, target, step))
            continue
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
                f"backward of {who} is wrong: {check.problems[0]}",
                "Checked alone against finite differences on the current batch"
                + (measured if errors else "")
                + ". A wrong backward raises no error: the model trains on wrong gradients "
                "and ends worse, or not at all."
                + "".join(f" Also: {p}." for p in check.problems[1:]),
                (
                    Remedy(
                        f"fix {check.type_name}.backward, then check it again",
                        action="check_backward",
                    ),
                    Remedy(
                        "check the module alone with sa.gradcheck(module, x) on a float64 copy "
                        "(Linear(..., dtype=np.float64))"
                    ),
                ),
                target,
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
        #: the loss is a class the user wrote: its backward is checked with the modules'
        self.own_loss = not is_library_module(experiment.loss)
        self.pending = has_own_modules(index.model) or self.own_loss
        self.results: dict[str, ModuleCheck] = {}

    def run(
        self, x: np.ndarray, paths: Iterable[str] | None = None, batch: tuple | None = None
    ) -> BackwardReport:
        """Check the modules at ``paths`` (default all) on the batch ``x``; with ``paths``
        None and a loss the user wrote, its backward too, on ``batch`` (inputs, targets)."""
        self.pending = False
        report = check_backward(self.index.model, x, paths)
        if paths is None and self.own_loss and batch is not None:
            loss = check_loss_backward(self.index.model, self.experiment.loss, *batch)
            report = BackwardReport((*report.modules, loss), report.tolerance, report.error)
        self.results.update((m.path, m) for m in report.modules)
        return report

    def before_first_step(self, x: np.ndarray, y: Any = None) -> None:
        """Check every module (and a loss the user wrote) on the first batch; failures join
        the first step's warnings."""
        self.monitor.note(warnings_of(self.run(x, None, (x, y)), 1))

    def on_demand(
        self, x: np.ndarray | None, paths: Iterable[str] | None, step: int
    ) -> BackwardReport:
        """Check the modules at ``paths`` on the batch ``x`` (None before the first step: the
        next batch, read without moving the loader); failures join the warnings at once.

        The check runs on a copy of the model, so it may run in the middle of a batch: the
        forward's saves wait for their backward untouched."""
        batch = peek_batch(self.experiment) if x is None or self.own_loss else None
        if x is None:
            assert batch is not None
            x = batch[0]
        report = self.run(x, paths, batch)
        # a check run again on the same step says nothing new: one warning, not a copy per run
        said = {(w.rule, w.target, w.message) for w in self.monitor.warnings if w.step == step}
        self.monitor.warnings.extend(
            w for w in warnings_of(report, step) if (w.rule, w.target, w.message) not in said
        )
        return report
