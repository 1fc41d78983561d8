"""A first loss far above ln(classes): a confidently wrong initialisation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.checks.init_loss import INIT_FACTOR, judge_init_loss
from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import FIX_INIT, inputs_cause, inputs_first


@dataclass
class InitLoss(Rule):
    """On step 1 of a classifier, the loss is above ``factor`` times ln(classes)
    (``init_loss``, warning).

    Why: an untrained classifier should be unsure; uniform probabilities give a
    cross-entropy of ln(C) (CS231n, Karpathy's "Recipe"). A much larger first loss means the
    last layer's init scale is too large, and early steps go to undoing it. The judgement is
    ``checks.init_loss.judge_init_loss``, the one the pre-flight check makes on the same
    number (step 1's loss); a non-finite one is the non-finite rule's.

    Args:
        factor: how many times ln(C) the first loss may be.
    """

    factor: float = INIT_FACTOR

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        if ctx.step != 1 or not ctx.num_classes or not math.isfinite(record.loss):
            return ()
        verdict = judge_init_loss(record.loss, ctx.num_classes, self.factor)
        if verdict.passed:
            return ()
        return (
            ctx.condition(
                "init_loss",
                Severity.WARNING,
                f"loss at init {record.loss:.4g} (step 1) is far above "
                f"ln({verdict.classes}) = {verdict.expected:.4g} "
                f"(at most {self.factor:g}x ln(C) = {verdict.limit:.4g})",
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
