"""Training inputs that are not standardised (feature means or scales far from 0 and 1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import NORMALISE_INPUTS


@dataclass
class InputScale(Rule):
    """The training inputs' typical feature std is above ``max_scale`` or below ``min_scale``,
    or their typical |mean| above ``max_mean`` (``input_scale``, warning; holds all run, so it
    warns once, on the first step, before any rule that would blame the init).

    Why: the first layer multiplies the inputs, so inputs x1000 make every activation and
    gradient x1000 whatever the init; the other rules then see an explosion, not its cause.

    Args:
        max_scale / min_scale: the band a typical feature's standard deviation may be in.
        max_mean: how far from 0 a typical feature's mean may be.
    """

    max_scale: float = 10.0
    min_scale: float = 0.05
    max_mean: float = 5.0

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        if ctx.inputs is None:
            return ()
        problem = ctx.inputs.scale_problem(self.max_scale, self.min_scale, self.max_mean)
        if not problem:
            return ()
        return (
            ctx.condition(
                "input_scale",
                Severity.WARNING,
                f"the training inputs are not standardised: {problem}",
                "The first layer multiplies the inputs, so their scale becomes the scale of "
                "every activation and gradient, whatever the init: fix the data first.",
                (NORMALISE_INPUTS,),
            ),
        )
