"""A ReLU layer whose units are almost all dead."""

from __future__ import annotations

from dataclasses import dataclass

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, LayerRule
from scratchai.engine.rules.remedies import FIX_INIT, REDUCE_LR, inputs_first


@dataclass
class DeadReLU(LayerRule):
    """More than ``threshold`` of a ReLU module's units output <= 0 for the whole batch
    (``dead_relu:<path>``, warning, one condition per module).

    Why: a dead ReLU passes no gradient, so it stops learning and rarely recovers; a large
    update or a bad bias init pushed it negative for every input. 0.9: almost the entire
    layer, well past the few dead units a healthy network has.

    Args:
        threshold: the dead fraction above which the rule fires.
        every: during a run, look every this many steps (a layer dies over many steps, not
            in one); in between the last finding holds.
    """

    threshold: float = 0.9
    every: int = 10

    def needs_layers(self, step: int, loss: float, grad_norm: float) -> bool:
        return step % self.every == 0

    def check_layers(self, record: StepRecord, ctx: Context) -> list[Condition]:
        found: list[Condition] = []
        for m in record.modules:
            if m.dead_fraction is not None and m.dead_fraction > self.threshold:
                found.append(
                    ctx.condition(
                        f"dead_relu:{m.path}",
                        Severity.WARNING,
                        f"{m.dead_fraction:.0%} of the units of '{m.path}' are dead "
                        "(never > 0 in this batch)",
                        "Dead ReLUs pass no gradient and stop learning; a large update or a bad "
                        "bias init pushed them negative for every input.",
                        inputs_first(ctx.input_problem, (REDUCE_LR, FIX_INIT)),
                        m.path,
                    )
                )
        return found
