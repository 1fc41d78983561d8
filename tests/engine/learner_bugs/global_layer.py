"""A layer kept in a global variable: the forward calls it, no attribute of the model holds it."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment

PROJECT = sa.Linear(32, 32)  # BUG: outside the model


class Net(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.act = sa.ReLU()
        self.head = sa.Linear(32, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.head(self.act(PROJECT(x)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return PROJECT.backward(self.act.backward(self.head.backward(grad_output)))


def build() -> Experiment:
    return experiment(Net(), "global-layer")
