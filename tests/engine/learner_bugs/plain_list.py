"""Hidden layers kept in a plain Python list: they run in the forward but are not in the tree."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Deep(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = sa.Linear(32, 64)
        self.hidden = [sa.Linear(64, 64), sa.ReLU(), sa.Linear(64, 64), sa.ReLU()]  # BUG
        self.out = sa.Linear(64, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = self.inp(x)
        for layer in self.hidden:
            h = layer(h)
        return self.out(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.out.backward(grad_output)
        for layer in reversed(self.hidden):
            g = layer.backward(g)
        return self.inp.backward(g)


def build() -> Experiment:
    return experiment(Deep(), "plain-list")
