"""The smoothed training loss that several rules share, and the step with the lowest one."""

from __future__ import annotations

import math
from typing import Any


class LossTracker:
    """An EMA of the training loss, its best value and where that was.

    Owned and updated by the ``RuleBook`` (rules only read it): the loss explosion rule
    compares against the best, the overfitting rule against the smoothed loss, and every
    divergence advises rewinding to the best step. Smoothing because one noisy minibatch is
    no explosion and no trend.

    Args:
        smoothing: the EMA weight of each new loss.
    """

    def __init__(self, smoothing: float = 0.1) -> None:
        self.smoothing = smoothing
        self.smoothed = math.nan  # the EMA; NaN until the first finite loss
        self.best_loss = math.inf  # the lowest value the EMA reached
        self.best_step = 0  # the step whose smoothed loss was the lowest so far
        self.first_loss = math.nan  # the first finite loss: where training started
        self.last_loss = math.nan  # the previous step's loss (finite or not)

    @property
    def rewind_step(self) -> int:
        """The step to rewind to for the best weights.

        The loss of step k is measured with the weights left by step k - 1.
        """
        return max(self.best_step - 1, 0)

    def update(self, step: int, loss: float) -> None:
        """Fold in ``step``'s loss; a NaN/Inf loss leaves the EMA alone (it would stick)."""
        self.last_loss = loss
        if not math.isfinite(loss):
            return
        if self.first_loss != self.first_loss:  # NaN: the first finite loss
            self.first_loss = self.smoothed = loss
        a = self.smoothing
        self.smoothed = (1.0 - a) * self.smoothed + a * loss
        if self.smoothed < self.best_loss:
            self.best_loss, self.best_step = self.smoothed, step

    def state_dict(self) -> dict[str, Any]:
        return {
            "smoothed": self.smoothed,
            "best_loss": self.best_loss,
            "best_step": self.best_step,
            "first_loss": self.first_loss,
            "last_loss": self.last_loss,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.smoothed = state["smoothed"]
        self.best_loss = state["best_loss"]
        self.best_step = state["best_step"]
        self.first_loss = state["first_loss"]
        self.last_loss = state["last_loss"]
