"""Tanh or sigmoid layers whose units sit in their flat tails."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, LayerRule
from scratchai.engine.rules.remedies import (
    NORMALISE_INPUTS,
    NORMALISE_LAYERS,
    REDUCE_LR,
    SMALLER_INIT,
    inputs_first,
)


@dataclass
class Saturation(LayerRule):
    """More than ``threshold`` of a tanh/sigmoid module's outputs are in the flat tails
    (|tanh| > 0.97) for ``patience`` steps in a row (``saturation:<path>``, warning).

    Why: in the tails the slope is nearly 0, so almost no gradient passes and the layers
    before stop learning (the tanh counterpart of a dead ReLU). Inputs or pre-activations
    that are too large put the units there.

    Args:
        threshold: the saturated fraction above which a step counts.
        patience: steps it must stay saturated (at every measurement: a run measures the
            layers every few steps) before the rule fires; one batch can be unusual.
    """

    threshold: float = 0.5
    patience: int = 20
    # path -> the step since which it has been saturated at every measurement
    _since: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def check_layers(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        found: list[Condition] = []
        for m in record.modules:
            if m.saturation is None:
                continue
            if m.saturation <= self.threshold:
                self._since.pop(m.path, None)
                continue
            since = self._since.setdefault(m.path, record.step)
            streak = record.step - since + 1
            if streak < self.patience:
                continue
            # saturated from the first measurement: the init or the inputs, not the lr
            from_start = since <= 1
            fixes = (
                (SMALLER_INIT, NORMALISE_LAYERS)
                if from_start
                else (SMALLER_INIT, NORMALISE_LAYERS, REDUCE_LR)
            )
            if not ctx.input_problem:
                fixes = (*fixes[:2], NORMALISE_INPUTS, *fixes[2:])
            found.append(
                ctx.condition(
                    f"saturation:{m.path}",
                    Severity.WARNING,
                    f"{m.saturation:.0%} of the outputs of '{m.path}' ({m.type_name}) are "
                    f"saturated (in the flat tails) for {streak} steps; threshold "
                    f"{self.threshold:.0%}",
                    "A saturated tanh/sigmoid has slope near 0: almost no gradient passes, "
                    "so the layers before it stop learning. Its inputs are too large"
                    + (
                        " from the first step on: the init scale (or the data), not training."
                        if from_start
                        else "."
                    ),
                    inputs_first(ctx.input_problem, fixes),
                    m.path,
                )
            )
        return found

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "since": dict(self._since)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._since = dict(state["since"])
