"""The one judgement of "loss at init", shared by the rule (headless and the app, on step 1)
and the pre-flight check (``scratchtui check``, ``c``).

The question: is the untrained classifier unsure, as it should be? Uniform probabilities give a
cross-entropy of ln(C) (CS231n, Karpathy's "Recipe"); a first loss far above it means a
confidently wrong init. Both places judge the same number: **the loss of the first training
batch with the initial weights, in training mode** (the loss step 1 prints), against
``INIT_FACTOR`` x ln(C), with C the width of the logits (as the rules count classes). The rule
reads it from step 1's record; the check measures it on copies (the loader's next batch, put
back afterwards; the random state the run starts from), or takes step 1's own when the run has
taken it (the app, after training).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratchai.engine.experiment import Experiment
from scratchai.engine.observe.validation import is_classification

#: The loss at init may be this many times ln(C).
INIT_FACTOR = 1.5
#: What the judged number is, for the messages of both places.
WHAT = "the first training batch's loss at init (step 1's, training mode)"


@dataclass(frozen=True)
class InitLossVerdict:
    """The judgement of one first loss.

    Attributes:
        loss: the loss judged.
        classes: C, the logits' width; None when the model is no classifier (nothing judged).
        factor: how many times ln(C) the loss may be.
        rows: the batch's rows, when known.
    """

    loss: float
    classes: int | None
    factor: float = INIT_FACTOR
    rows: int | None = None

    @property
    def expected(self) -> float:
        """ln(C): the loss of uniform probabilities."""
        return math.log(self.classes) if self.classes else math.nan

    @property
    def limit(self) -> float:
        return self.factor * self.expected

    @property
    def passed(self) -> bool:
        """Not far above ln(C) (a non-finite loss fails; no classifier: nothing to judge)."""
        if not self.classes:
            return True
        return math.isfinite(self.loss) and self.loss <= self.limit

    def describe(self) -> str:
        """One line: the number, where it comes from, the reference and the threshold."""
        rows = f", {self.rows} rows" if self.rows else ""
        if not self.classes:
            return f"loss {self.loss:.4g} on the first training batch{rows} (not a classifier)"
        return (
            f"loss {self.loss:.4g} on the first training batch{rows} (step 1's, training mode) "
            f"vs ln({self.classes}) = {self.expected:.4g} (at most {self.factor:g}x ln(C) "
            f"= {self.limit:.4g})"
        )


def judge_init_loss(
    loss: float, classes: int | None, factor: float = INIT_FACTOR, rows: int | None = None
) -> InitLossVerdict:
    """Judge a first loss against ``factor`` x ln(``classes``)."""
    return InitLossVerdict(float(loss), classes, factor, rows)


def classes_of(output: Any, targets: Any) -> int | None:
    """C as the rules count it: the logits' width, for (batch, C) logits and integer labels."""
    return int(output.shape[1]) if is_classification(output, targets) else None


def first_batch(experiment: Experiment) -> tuple[np.ndarray, np.ndarray]:
    """The batch the loader serves next (step 1's, for an experiment not trained yet); the
    loader's position is put back. The library's random generator moves (a shuffle): callers
    restore it."""
    loader = experiment.train_loader
    saved = copy.deepcopy(loader.state_dict())
    try:
        xb, yb, _, _ = loader.next_batch()
    finally:
        loader.load_state_dict(saved)
    return xb, yb


def measure_init_loss(experiment: Experiment, factor: float = INIT_FACTOR) -> InitLossVerdict:
    """Step 1's forward and loss on copies of the model and the loss (training mode, the next
    batch), judged. Nothing of the experiment changes but the random generators, which the
    caller restores."""
    xb, yb = first_batch(experiment)
    model, loss_fn = copy.deepcopy((experiment.model, experiment.loss))
    model.train()
    output = model(xb)
    loss = float(loss_fn(output, yb))
    return judge_init_loss(loss, classes_of(output, yb), factor, len(xb))
