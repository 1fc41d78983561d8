"""A loss far above the best smoothed loss so far."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import FIX_INIT, REDUCE_LR, inputs_cause, inputs_first


@dataclass
class LossExplosion(Rule):
    """The loss is over ``factor`` times its best smoothed value and above where training
    started (``loss_explosion``, diverged), once ``warmup`` steps have passed.

    Why: a loss running away from the best it reached means the steps are too big. It is
    compared with the smoothed best (the shared ``LossTracker``) so that one lucky minibatch
    does not set the bar, and must also exceed the first loss: at a low loss, 10x of a good
    batch is noise, not divergence.

    Args:
        factor: how many times the best smoothed loss counts as an explosion.
        warmup: steps before the rule arms (the first losses move fast on their own).
    """

    factor: float = 10.0
    warmup: int = 5

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        losses = ctx.losses
        loss = record.loss
        if not (
            math.isfinite(loss)
            and ctx.step > self.warmup
            and loss > self.factor * losses.best_loss
            and loss > losses.first_loss
        ):
            return ()
        return (
            ctx.condition(
                "loss_explosion",
                Severity.DIVERGED,
                f"loss {loss:.4g} is over {self.factor:g}x its best "
                f"({losses.best_loss:.4g}, smoothed) and above where it started",
                "The loss is running away from the best it reached: the steps are too big."
                + inputs_cause(ctx.input_problem),
                inputs_first(ctx.input_problem, (REDUCE_LR, FIX_INIT)),
            ),
        )
