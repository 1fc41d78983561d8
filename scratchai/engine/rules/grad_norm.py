"""A total gradient norm above a threshold."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import CLIP, FIX_INIT, REDUCE_LR, inputs_cause, inputs_first


@dataclass
class GradNorm(Rule):
    """The total L2 norm of the gradients is above ``threshold`` (``grad_norm``, diverged).

    Why: gradients this large make the update overshoot, and the next steps usually blow up.
    100 is the threshold Karpathy's lessons use. The warning names the parameter with the
    largest gradient norm, where clipping or a smaller init would help most.

    Args:
        threshold: the total grad norm above which the rule fires.
    """

    threshold: float = 100.0

    def needs_layers(self, step: int, loss: float, grad_norm: float) -> bool:
        return grad_norm > self.threshold  # to name the parameter with the largest gradient

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        if not record.grad_norm > self.threshold:
            return ()
        # a NaN norm ranks as the largest: it is the worst parameter
        biggest = max(
            record.params,
            key=lambda p: p.grad_norm if p.grad_norm == p.grad_norm else math.inf,
            default=None,
        )
        largest = (
            f"The largest is on '{biggest.path}' ({biggest.grad_norm:.4g})." if biggest else ""
        )
        return (
            ctx.condition(
                "grad_norm",
                Severity.DIVERGED,
                f"total grad norm {record.grad_norm:.4g} > {self.threshold:g}",
                "Gradients this large make the update overshoot; the next steps usually blow "
                "up. " + largest + inputs_cause(ctx.input_problem),
                inputs_first(ctx.input_problem, (REDUCE_LR, FIX_INIT, CLIP)),
                biggest.path if biggest else "",
            ),
        )
