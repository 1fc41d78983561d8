"""Running statistics never updated: a buffer that never changes while eval mode uses it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import EpochRecord, Remedy, RuleWarning, Severity
from scratchai.engine.rules.base import Context, OncePerModule
from scratchai.engine.rules.eval_randomness import who


@dataclass
class FrozenStatistics(OncePerModule):
    """An epoch rule (``frozen_statistics``, warning): at an epoch's end, a module's own
    buffers have not changed since training began, and its eval output differs from its
    (deterministic) train output on the same input by more than ``difference`` (relative).
    Warns once per module.

    Why: a batch norm normalises with the batch's statistics while training and with its
    running statistics in eval mode; these must follow the training batches. Never updated,
    they keep their initial values (mean 0, variance 1), and validation runs another model than
    the one trained. A buffer that is constant on purpose leaves eval and train equal: silent.

    Args:
        difference: the relative difference between eval and train output that counts.
    """

    difference: float = 0.05

    def check_epoch(self, epoch: EpochRecord, ctx: Context) -> Sequence[RuleWarning]:
        if epoch.modes is None:
            return ()
        found = []
        for d in epoch.modes.frozen:
            if d.difference <= self.difference or not self.first_time(d.path):
                continue
            names = ", ".join(d.buffers)
            found.append(
                RuleWarning(
                    "frozen_statistics",
                    Severity.WARNING,
                    epoch.step,
                    f"{who(d.path, d.type_name)} never updates its buffers ({names}): they have "
                    f"not changed in {epoch.step} steps, yet its eval output differs from its "
                    f"train output on the same batch by {d.difference:.0%}",
                    "A batch norm normalises with the batch's statistics while training and with "
                    "its running statistics in eval mode, so those must follow the training "
                    "batches: running = (1 - momentum) * running + momentum * batch_stat. Never "
                    "updated, they keep their initial values, and validation (eval mode) runs "
                    "another model than the one trained.",
                    (
                        Remedy(
                            f"in {d.type_name}.forward, when training, update the running "
                            "statistics in place: self.running_mean *= 1 - m; "
                            "self.running_mean += m * mean (and running_var alike); writing "
                            "into a copy or a local name changes nothing"
                        ),
                        Remedy("or use sa.BatchNorm1d"),
                    ),
                    d.path,
                )
            )
        return found
