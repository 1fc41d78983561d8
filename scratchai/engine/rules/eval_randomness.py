"""A module whose eval-mode output changes between two identical calls: randomness in eval."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import EpochRecord, Remedy, RuleWarning, Severity
from scratchai.engine.rules.base import Context, OncePerModule


def who(path: str, type_name: str) -> str:
    """``'2' (MyDropout)``, or ``the model (Net)`` for the model itself."""
    return f"'{path}' ({type_name})" if path else f"the model ({type_name})"


@dataclass
class EvalRandomness(OncePerModule):
    """An epoch rule (``eval_randomness``, warning): at an epoch's end, two eval-mode forwards
    of the last trained batch differ first at a module's output (its input the same), by
    more than ``tolerance`` (relative). Warns once per module. Also says when that probe could
    not finish because the user's code raised in it.

    Why: eval mode must be deterministic; Dropout drops units only while training. A module
    that draws random numbers in eval mode (a Dropout without ``if self.training:``) makes
    every validation number noisy and worse than the trained model is.

    Args:
        tolerance: the relative difference between the two calls' outputs that counts.
    """

    tolerance: float = 1e-6

    def check_epoch(self, epoch: EpochRecord, ctx: Context) -> Sequence[RuleWarning]:
        modes = epoch.modes
        if modes is None:
            return ()
        found = []
        if modes.error and self.first_time(""):  # "": the probe itself
            found.append(
                RuleWarning(
                    "eval_randomness",
                    Severity.WARNING,
                    epoch.step,
                    f"the train/eval check could not finish: {modes.error}",
                    "At each epoch's end the last batch runs twice in eval mode (and modules "
                    "with buffers alone in each mode) to find randomness in eval mode and "
                    "running statistics never updated. Your code raised there, so neither is "
                    "checked.",
                    (Remedy("read the error: the forward should run in eval mode (model.eval())"),),
                )
            )
        for d in modes.random_in_eval:
            if d.difference <= self.tolerance or not self.first_time(d.path):
                continue
            found.append(
                RuleWarning(
                    "eval_randomness",
                    Severity.WARNING,
                    epoch.step,
                    f"{who(d.path, d.type_name)} is random in eval mode: two identical calls on "
                    f"the same batch give outputs {d.difference:.2g} apart (relative)",
                    "Eval mode must be deterministic: Dropout drops units only while training "
                    "(model.train() / model.eval() set self.training). A module that draws "
                    "random numbers in eval mode makes every validation number noisy and worse "
                    "than the trained model is.",
                    (
                        Remedy(
                            f"in {d.type_name}.forward, draw the mask only when training: "
                            "`if not self.training: return x` first (keep the 1/(1-p) scaling "
                            "in training)"
                        ),
                        Remedy("or use sa.Dropout, which does exactly this"),
                    ),
                    d.path,
                )
            )
        return found
