"""Validation loss rising above its best while the training loss keeps falling."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scratchai.engine.observe.records import EpochRecord, Remedy, RuleWarning, Severity
from scratchai.engine.rules.base import Context, Rule
from scratchai.engine.rules.mismatched_labels import at_chance
from scratchai.engine.rules.remedies import MORE_DATA, REGULARISE


@dataclass
class Overfitting(Rule):
    """An epoch rule (``overfitting``, warning): no new best validation loss for ``patience``
    epochs, the validation loss now over ``margin`` (relative) above the best, and the
    smoothed training loss lower than it was at the best. Warns once per best validation loss.

    Why: training on then makes the model worse on unseen data. Patience and margin keep
    noise in a small validation set from warning; requiring the training loss to fall tells
    overfitting from plain divergence, where both losses rise. A classifier whose validation
    accuracy never rose above chance (within ``chance_margin``) learnt nothing that carries
    over, so it cannot overfit: that is ``mismatched_labels``' finding, not this one.

    Args:
        patience: epochs since the best validation loss before the rule may fire.
        margin: how far above the best (as a fraction of its size) counts as worse.
        trend_window / trend_margin: a slow rise also counts: ``trend_window`` epochs since the
            best, at least 70 % of them higher than the one before, ending over
            ``trend_margin`` (fraction) above the best.
        chance_margin: validation accuracy this fraction of the way from chance to 100 % or
            less counts as chance.
    """

    patience: int = 3
    margin: float = 0.05
    trend_window: int = 8
    trend_margin: float = 0.02
    chance_margin: float = 0.1
    best_accuracy: float = field(default=0.0, init=False, repr=False, compare=False)
    # the best validation so far: (val loss, epoch, step, smoothed train loss then)
    best_val: tuple[float, int, int, float] = field(
        default=(math.inf, 0, 0, math.inf), init=False, repr=False, compare=False
    )
    warned: bool = field(default=False, init=False, repr=False, compare=False)
    since_best: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def check_epoch(self, epoch: EpochRecord, ctx: Context) -> Sequence[RuleWarning]:
        val = epoch.val_loss
        if val is None or not math.isfinite(val):
            return ()
        train = ctx.losses.smoothed
        if epoch.val_accuracy is not None:
            self.best_accuracy = max(self.best_accuracy, epoch.val_accuracy)
        best, best_epoch, best_step, train_then = self.best_val
        if val < best:
            self.best_val = (val, epoch.epoch, epoch.step, train)
            self.warned = False
            self.since_best = ()
            return ()
        self.since_best = (*self.since_best, val)[-self.trend_window :]
        if self.warned or not train < train_then:
            return ()
        jumped = epoch.epoch - best_epoch >= self.patience and val - best > self.margin * abs(best)
        if not (jumped or self._creeping(best)):
            return ()
        classes = ctx.num_classes
        if (
            classes
            and epoch.val_accuracy is not None
            and at_chance(self.best_accuracy, classes, self.chance_margin)
        ):
            return ()  # nothing learnt carries over: not overfitting
        self.warned = True
        return (
            RuleWarning(
                "overfitting",
                Severity.WARNING,
                epoch.step,
                f"validation loss {val:.4g} has stayed above its best, {best:.4g} at epoch "
                f"{best_epoch + 1}, for {epoch.epoch - best_epoch} epochs while the training "
                "loss kept falling",
                "The model is learning particulars of the training set that do not carry over "
                "to new data (overfitting): training on makes it worse on unseen data.",
                (
                    Remedy(
                        f"stop here: validation was best at step {best_step} (epoch "
                        f"{best_epoch + 1}); train that long next time, or save a checkpoint "
                        "after each epoch that improves it",
                        action="checkpoint",
                    ),
                    REGULARISE,
                    MORE_DATA,
                ),
            ),
        )

    def _creeping(self, best: float) -> bool:
        """A slow sustained rise: ``trend_window`` epochs since the best, most of them up,
        ending over ``trend_margin`` above the best."""
        values = self.since_best
        if len(values) < self.trend_window or values[-1] - best <= self.trend_margin * abs(best):
            return False
        rises = sum(b > a for a, b in itertools.pairwise(values))
        return rises >= 0.7 * (len(values) - 1)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_val": self.best_val,
            "warned": self.warned,
            "since_best": self.since_best,
            "best_accuracy": self.best_accuracy,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_val = state["best_val"]
        self.warned = state["warned"]
        self.since_best = state["since_best"]
        self.best_accuracy = state["best_accuracy"]
