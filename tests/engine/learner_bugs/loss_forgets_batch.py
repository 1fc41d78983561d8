"""A hand-written cross-entropy whose backward forgets the 1/batch its forward's mean takes."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class MyCrossEntropy(sa.Module):
    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        self.probs, self.targets = probs, targets
        return float(-np.log(probs[np.arange(len(targets)), targets]).mean())

    def backward(self) -> np.ndarray:
        grad = self.probs.copy()
        grad[np.arange(len(self.targets)), self.targets] -= 1.0
        return grad  # BUG: the forward took a mean: divide by len(self.targets)


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 64), sa.ReLU(), sa.Linear(64, 10))
    exp = experiment(model, "loss-forgets-batch", lr=0.01)
    exp.loss = MyCrossEntropy()
    return exp
