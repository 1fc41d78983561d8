"""A ReLU layer whose units are almost all dead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..records import Severity, StepRecord
from .base import Condition, Context, Rule
from .remedies import FIX_INIT, REDUCE_LR, inputs_first


@dataclass
class DeadReLU(Rule):
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
    _held: tuple[Condition, ...] = field(default=(), init=False, repr=False, compare=False)

    def needs_layers(self, step: int, loss: float, grad_norm: float) -> bool:
        return step % self.every == 0

    def state_dict(self) -> dict[str, Any]:
        return {"held": self._held}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._held = state["held"]

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        if not record.layers_fresh:
            return self._held
        self._held = tuple(self._find(record, ctx))
        return self._held

    def _find(self, record: StepRecord, ctx: Context) -> list[Condition]:
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
