"""Labels that do not belong to their inputs: training accuracy climbs, validation stays at
chance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scratchai.engine.observe.records import (
    EpochRecord,
    Remedy,
    RuleWarning,
    Severity,
    StepRecord,
)
from scratchai.engine.rules.base import Condition, Context, Rule


def at_chance(accuracy: float, classes: int, margin: float) -> bool:
    """``accuracy`` is within ``margin`` (a fraction of the way from chance to 100 %) of
    chance, 1 / ``classes``."""
    chance = 1.0 / classes
    return accuracy <= chance + margin * (1.0 - chance)


@dataclass
class MismatchedLabels(Rule):
    """A classifier's rule (``mismatched_labels``, warning): for ``patience`` epochs in a row
    the validation accuracy stays at chance (within ``chance_margin``) while the training
    accuracy (smoothed over the last batches) is well above it (over ``above_margin``). Warns
    once. Silent while the last train/eval probe found eval mode broken (validation then runs
    another model than the one trained: ``eval_randomness``, ``frozen_statistics``).

    Why: a model that overfits still generalises a little first; one that fits its training
    labels while never beating chance on new examples has learnt labels that do not belong to
    their inputs (shuffled or sorted apart from them). It is not overfitting: more data or
    regularisation would not help.

    Args:
        patience: epochs in a row.
        chance_margin: validation at most this fraction of the way from chance to 100 %.
        above_margin: training at least this fraction of the way from chance to 100 %.
        smoothing: the weight of each batch's accuracy in the smoothed training accuracy.
    """

    patience: int = 5
    chance_margin: float = 0.1
    above_margin: float = 0.7
    smoothing: float = 0.1
    _train: float | None = field(default=None, init=False, repr=False, compare=False)
    _streak: int = field(default=0, init=False, repr=False, compare=False)
    _warned: bool = field(default=False, init=False, repr=False, compare=False)
    _broken: bool = field(default=False, init=False, repr=False, compare=False)  # last probe's

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        accuracy = record.accuracy  # every step: one multiply-add, no array
        if accuracy is not None:
            train = self._train
            self._train = accuracy if train is None else train + self.smoothing * (accuracy - train)
        return ()

    def check_epoch(self, epoch: EpochRecord, ctx: Context) -> Sequence[RuleWarning]:
        classes, val, train = ctx.num_classes, epoch.val_accuracy, self._train
        if self._warned or not classes or classes < 2 or val is None or train is None:
            return ()
        modes = epoch.modes  # probed on some epochs only: the last probe's verdict holds
        if modes is not None:
            self._broken = any(d.difference > 0.0 for d in (*modes.random_in_eval, *modes.frozen))
        apart = at_chance(val, classes, self.chance_margin) and not at_chance(
            train, classes, self.above_margin
        )
        self._streak = self._streak + 1 if apart and not self._broken else 0
        if self._streak < self.patience:
            return ()
        self._warned = True
        return (
            RuleWarning(
                "mismatched_labels",
                Severity.WARNING,
                epoch.step,
                f"validation accuracy has stayed at chance ({val:.0%}; chance is "
                f"{1 / classes:.0%} for {classes} classes) for {self._streak} epochs while "
                f"training accuracy climbed to {train:.0%}: the labels likely do not belong to "
                "their inputs",
                "What the model learns from the training batches carries over to no new "
                "example at all. Overfitting generalises a little before it gets worse; a model "
                "that fits its training labels while never beating chance on validation is "
                "memorising labels that do not match their inputs: shuffled, sorted or split "
                "apart from them (e.g. X shuffled without y); less often, inputs that carry "
                "almost nothing about their labels (noise). It is not overfitting: more data or "
                "regularisation would not help.",
                (
                    Remedy(
                        "shuffle inputs and labels together: idx = rng.permutation(len(X)); "
                        "X, y = X[idx], y[idx]"
                    ),
                    Remedy("print a few training inputs with their labels: does each belong?"),
                    Remedy("make the validation labels the same way as the training ones"),
                ),
            ),
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "train": self._train,
            "streak": self._streak,
            "warned": self._warned,
            "broken": self._broken,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._train = state["train"]
        self._streak = state["streak"]
        self._warned = state["warned"]
        self._broken = state["broken"]
