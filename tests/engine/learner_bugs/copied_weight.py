"""The lesson's broken sharing: the second branch gets a copy of the first's weight."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Branches(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.branch_a = sa.Linear(16, 20)
        self.branch_b = sa.Linear(16, 20)
        self.branch_b.W = sa.Parameter(self.branch_a.W.data.copy())  # BUG: a copy, not an alias
        self.head = sa.Linear(40, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = np.concatenate([self.branch_a(x[:, :16]), self.branch_b(x[:, 16:])], axis=1)
        return self.head(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.head.backward(grad_output)
        return np.concatenate(
            [self.branch_a.backward(g[:, :20]), self.branch_b.backward(g[:, 20:])], 1
        )


def build() -> Experiment:
    return experiment(Branches(), "copied-weight")
