"""A backward returning a shape that broadcasts: (1, 16) for (batch, 16). NumPy never complains."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Scale(sa.Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return 2.0 * grad_output.mean(axis=0, keepdims=True)  # BUG: (1, 16)


def build() -> Experiment:
    return experiment(sa.Sequential(sa.Linear(32, 16), Scale(), sa.Linear(16, 10)), "broadcast")
