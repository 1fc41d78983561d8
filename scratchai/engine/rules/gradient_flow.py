"""Gradients that vanish before the early layers, or explode in them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from scratchai.engine.observe.records import ModuleProbe, Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, LayerRule
from scratchai.engine.rules.remedies import (
    BETTER_ACTIVATION,
    BETTER_INIT,
    CLIP,
    NORMALISE_LAYERS,
    REDUCE_LR,
    inputs_first,
)


@dataclass
class GradientFlow(LayerRule):
    """Per layer with parameters, its update:data ratio against the head's (the last such
    layer), for ``patience`` steps: ``factor`` times below it is
    ``vanishing_gradients`` (naming the first starving layer), ``factor`` times above it and
    above ``explode_ratio`` is ``exploding_gradients`` (both warnings).

    Why: backpropagation multiplies by every layer's local slope; through many sigmoid/tanh
    layers or a too-small init the product shrinks geometrically, so the early layers stop
    learning while the head still does (accuracy stuck, no error). The ratio to the head, not
    an absolute value, separates this from a learning rate that is merely low everywhere.

    Args:
        factor: orders of magnitude apart that count (1e3: three orders).
        explode_ratio: the smallest update:data ratio that counts as exploding.
        patience: steps the condition must hold (at every measurement: a run measures the
            layers every few steps).
    """

    factor: float = 1e3
    explode_ratio: float = 1e-2
    patience: int = 10
    # kind -> the step since which it has held at every measurement
    _since: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def check_layers(self, record: StepRecord, ctx: Context) -> list[Condition]:
        # one pass, no allocation beyond a short list: this runs on every measured step
        layers = [(m, r) for m in record.modules if (r := _ratio(m)) is not None]
        if len(layers) < 2:
            return []
        head, head_ratio = layers[-1]
        low, high = head_ratio / self.factor, max(head_ratio * self.factor, self.explode_ratio)
        vanishing = exploding = None
        for m, r in layers[:-1]:
            if vanishing is None and r < low:
                vanishing = m
            elif exploding is None and r > high:
                exploding = m
        found = []
        for kind, layer in (("vanishing", vanishing), ("exploding", exploding)):
            if layer is None:
                if self._since:
                    self._since.pop(kind, None)
                continue
            if record.step - self._since.setdefault(kind, record.step) + 1 >= self.patience:
                found.append(self._condition(kind, layer, head, ctx))
        return found

    def _condition(
        self, kind: str, layer: ModuleProbe, head: ModuleProbe, ctx: Context
    ) -> Condition:
        ratio, head_ratio = _ratio(layer) or 0.0, _ratio(head) or 0.0
        orders = abs(math.log10(max(ratio, 1e-300) / max(head_ratio, 1e-300)))
        measured = (
            f"update:data of '{layer.path}' ({layer.type_name}) is {ratio:.2g}, grad norm "
            f"{layer.grad_norm or 0.0:.2g}, {orders:.1f} orders of magnitude "
            f"{'below' if kind == 'vanishing' else 'above'} the head '{head.path}' "
            f"({head_ratio:.2g}, grad norm {head.grad_norm or 0.0:.2g}); threshold "
            f"{math.log10(self.factor):.0f} orders"
        )
        if kind == "vanishing":
            return ctx.condition(
                "vanishing_gradients",
                Severity.WARNING,
                f"vanishing gradients: {measured}",
                f"The gradient shrinks on its way back, so '{layer.path}' and the layers "
                "before it barely learn while the head does. Each sigmoid/tanh multiplies it "
                "by its slope (at most 0.25 / 1), and a too-small init shrinks it further.",
                inputs_first(ctx.input_problem, (BETTER_INIT, BETTER_ACTIVATION, NORMALISE_LAYERS)),
                layer.path,
            )
        return ctx.condition(
            "exploding_gradients",
            Severity.WARNING,
            f"exploding gradients: {measured}",
            f"The gradient grows on its way back, so '{layer.path}' takes steps far larger "
            "than the head's; it will overshoot and may blow up.",
            inputs_first(ctx.input_problem, (BETTER_INIT, NORMALISE_LAYERS, REDUCE_LR, CLIP)),
            layer.path,
        )

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "since": dict(self._since)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._since = dict(state["since"])


def _ratio(m: ModuleProbe) -> float | None:
    r = m.update_ratio
    return r if r is not None and math.isfinite(r) else None
