"""A loss that stays where it started: the model is not learning."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scratchai.engine.observe.records import Remedy, Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import RAISE_LR

OTHER_CAUSES = Remedy(
    "the parameters move but the loss does not fall: run the backward check (a wrong "
    "backward), check that labels match their inputs, and look for dead or saturated layers"
)


#: Rules whose finding explains a loss that does not move.
LAYER_CAUSES = frozenset({"vanishing_gradients", "saturation", "dead_relu"})


@dataclass
class NotLearning(Rule):
    """After ``steps`` steps the smoothed loss is still within ``tolerance`` (relative) of the
    first loss (``not_learning``, warning; ln(C) is named for classifiers).

    Once it holds, it ends only when the loss moves twice as far: a loss falling slowly past
    the threshold crosses it back and forth with every noisy batch, and each crossing would
    warn again.

    Why: a model that learns moves its loss away from the init value within a few hundred
    steps. The update:data ratio tells the causes apart: below ``low_ratio`` (far under the
    ~1e-3 of healthy training) the learning rate is too low; otherwise the updates happen but
    do not help (a wrong gradient, labels unrelated to inputs, dead units).

    Args:
        steps: steps before the rule may fire.
        tolerance: how close to the first loss (fraction of it) counts as "not moved".
        low_ratio: the largest update:data ratio that counts as "learning rate too low".
    """

    steps: int = 200
    tolerance: float = 0.05
    low_ratio: float = 1e-5
    _holding: bool = field(default=False, init=False, repr=False, compare=False)

    def state_dict(self) -> dict[str, Any]:
        return {"holding": self._holding}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._holding = state["holding"]

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        losses = ctx.losses
        first, now = losses.first_loss, losses.smoothed
        if ctx.step < self.steps or not (math.isfinite(first) and math.isfinite(now)):
            self._holding = False
            return ()
        band = self.tolerance * (2.0 if self._holding else 1.0)
        self._holding = abs(now - first) <= band * abs(first)
        if not self._holding:
            return ()
        ratios = [p.update_ratio for p in record.params if p.update_ratio is not None]
        largest = max((r for r in ratios if math.isfinite(r)), default=math.nan)
        init = ""
        if ctx.num_classes:
            init = f" (ln({ctx.num_classes}) = {math.log(ctx.num_classes):.4g} for a guess)"
        message = (
            f"loss {now:.4g} is still within {self.tolerance:.0%} of its first value "
            f"{first:.4g}{init} after {ctx.step} steps"
        )
        if largest < self.low_ratio:
            return (
                ctx.condition(
                    "not_learning",
                    Severity.WARNING,
                    message,
                    f"The learning rate is too low: the largest update:data ratio is "
                    f"{largest:.2g}, far below the ~1e-3 of healthy training "
                    f"(threshold {self.low_ratio:g}), so the weights barely move.",
                    (RAISE_LR,),
                ),
            )
        diagnosis = (
            f"The weights move (largest update:data {largest:.2g}) but the loss does not "
            "fall: the gradient does not point downhill, or nothing in the inputs predicts "
            "the labels."
        )
        remedies: tuple[Remedy, ...] = (OTHER_CAUSES,)
        cause = next((c.warning for c in ctx.found if c.warning.rule in LAYER_CAUSES), None)
        if cause is not None:  # a layer problem found on this step explains it: name it first
            diagnosis += f" The likely cause is already reported: {cause.message}; fix it first."
            remedies = (*cause.remedies[:1], OTHER_CAUSES)
        return (ctx.condition("not_learning", Severity.WARNING, message, diagnosis, remedies),)
