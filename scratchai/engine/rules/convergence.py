"""A loss that is low and no longer falling."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scratchai.engine.observe.records import Remedy, Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.mismatched_labels import at_chance
from scratchai.engine.rules.remedies import MORE_DATA, REGULARISE

FINE_TUNE = Remedy("stop here, or lower the lr to fine-tune", action="lower_lr")


@dataclass
class Convergence(Rule):
    """The mean loss over the last ``window`` steps is below ``loss`` and the relative change
    between the window's halves is at most ``tolerance`` (``converged``).

    Why: a low loss that has stopped falling means more steps buy nothing. Once converged,
    the rule holds until the mean rises above twice ``loss`` (hysteresis): a test that
    flickers near its thresholds would otherwise warn again every few steps.

    Args:
        window: how many recent losses are averaged.
        loss: the mean loss below which the run may have converged.
        tolerance: the largest relative change between the first and second half.
        gap: the largest validation-minus-training loss for which a plateau is convergence;
            above it the plateau is reported as overfitting (``overfitting:gap``, warning),
            judged on the latest validation pass, unless a classifier's validation accuracy
            is at chance (within ``chance_margin``): it learnt nothing that carries over, so it
            is not overfitting (``mismatched_labels`` says what it is).
    """

    window: int = 50
    loss: float = 0.05
    tolerance: float = 0.02
    gap: float = 0.5
    chance_margin: float = 0.1
    converged: bool = field(default=False, init=False, repr=False, compare=False)
    _losses: deque[float] = field(init=False, repr=False, compare=False)
    _sum: float = field(default=0.0, init=False, repr=False, compare=False)
    # the condition reported while it holds: only its onset's text is ever shown, so a held
    # plateau is not described again on every step (this runs on every step of a run)
    _held: tuple[Condition, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._losses = deque(maxlen=self.window)

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        losses = self._losses
        # a running sum: the mean is needed every step, the halves only when it is low
        if len(losses) == losses.maxlen:
            self._sum -= losses[0]
        losses.append(record.loss)
        self._sum += record.loss
        if not math.isfinite(self._sum):  # a NaN/Inf would stick in the running sum
            self._sum = sum(losses)
        mean = self._sum / len(losses)
        if self.converged:
            self.converged = mean < 2.0 * self.loss
        elif len(losses) == losses.maxlen and mean < self.loss:
            values = list(losses)
            half = len(values) // 2
            first = sum(values[:half]) / half
            second = sum(values[half:]) / (len(values) - half)
            self.converged = abs(first - second) <= self.tolerance * first
        if not self.converged:
            self._held = ()
            return ()
        gap = _gap(ctx)
        key = "overfitting:gap" if gap is not None and gap > self.gap else "converged"
        if key != "converged" and self._at_chance(ctx):
            key = "converged"  # at chance on validation: not overfitting (see the labels)
        if self._held and self._held[0].key == key:
            return self._held
        self._held = self._describe(key, mean, gap, ctx)
        return self._held

    def _at_chance(self, ctx: Context) -> bool:
        """A classifier's latest validation accuracy is at chance."""
        epoch, classes = ctx.last_epoch, ctx.num_classes
        if epoch is None or epoch.val_accuracy is None or not classes:
            return False
        return at_chance(epoch.val_accuracy, classes, self.chance_margin)

    def _describe(
        self, key: str, mean: float, gap: float | None, ctx: Context
    ) -> tuple[Condition, ...]:
        losses = self._losses
        if key == "overfitting:gap":
            assert gap is not None
            epoch = ctx.last_epoch
            assert epoch is not None and epoch.val_loss is not None
            acc = "" if epoch.val_accuracy is None else f", accuracy {epoch.val_accuracy:.0%}"
            return (
                ctx.condition(
                    "overfitting:gap",
                    Severity.WARNING,
                    f"training loss plateaued near {mean:.4g} but validation loss is "
                    f"{epoch.val_loss:.4g}{acc} (epoch {epoch.epoch + 1}): a gap of {gap:.3g}, "
                    f"above {self.gap:g}",
                    "Converged on the training set only: the model fits the training data "
                    "and not new data (overfitting), so stopping here keeps a poor model.",
                    (REGULARISE, MORE_DATA),
                ),
            )
        return (
            ctx.condition(
                "converged",
                Severity.CONVERGED,
                f"loss plateaued near {mean:.4g} over the last {len(losses)} steps",
                "The loss is low and no longer falling: training has converged.",
                (FINE_TUNE,),
            ),
        )

    def state_dict(self) -> dict[str, Any]:
        return {"converged": self.converged, "window": list(self._losses), "held": self._held}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.converged = state["converged"]
        self._held = state["held"]
        self._losses = deque(state["window"], maxlen=self.window)
        self._sum = math.fsum(self._losses)


def _gap(ctx: Context) -> float | None:
    """The latest validation loss minus the smoothed training loss (None without one)."""
    epoch = ctx.last_epoch
    if epoch is None or epoch.val_loss is None or not math.isfinite(epoch.val_loss):
        return None
    return epoch.val_loss - ctx.losses.smoothed
