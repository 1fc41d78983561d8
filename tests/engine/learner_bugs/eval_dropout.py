"""A learner's Dropout that also drops in eval mode (no `if self.training:`)."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class MyDropout(sa.Module):
    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        # BUG: drops in eval mode too
        mask = (np.random.rand(*x.shape) >= self.p) / (1.0 - self.p)
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (mask,) = self.saved_for_backward()
        return grad_output * mask


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 64), sa.ReLU(), MyDropout(0.3), sa.Linear(64, 10))
    return experiment(model, "eval-dropout")
