"""A first loss far above ln(classes): a confidently wrong initialisation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import FIX_INIT, inputs_cause, inputs_first


@dataclass
class InitLoss(Rule):
    """On step 1 of a classifier, the loss is above ``factor`` times ln(classes)
    (``init_loss``, warning).

    Why: an untrained classifier should be unsure; uniform probabilities give a
    cross-entropy of ln(C) (CS231n, Karpathy's "Recipe"). A much larger first loss means the
    last layer's init scale is too large, and early steps go to undoing it.

    Args:
        factor: how many times ln(C) the first loss may be.
    """

    factor: float = 1.5

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        num_classes = ctx.num_classes
        if ctx.step != 1 or not num_classes or not math.isfinite(record.loss):
            return ()
        expected = math.log(num_classes)
        if not record.loss > self.factor * expected:
            return ()
        return (
            ctx.condition(
                "init_loss",
                Severity.WARNING,
                f"loss at init {record.loss:.4g} is far above ln({num_classes}) = {expected:.3g}",
                "An untrained classifier should be unsure (uniform probabilities give ln(C)); "
                "a much larger loss means it is confidently wrong"
                + (
                    "." + inputs_cause(ctx.input_problem)
                    if ctx.input_problem
                    else ", so the init scale of the last layer is too large."
                ),
                inputs_first(ctx.input_problem, (FIX_INIT,)),
            ),
        )
