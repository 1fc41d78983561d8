"""A layer of one's own (weight (out, in)) whose rows are tiled from one unit, before a
constant mixing layer: its 24 units are four copies of six, and stay so."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Tiled(sa.Module):
    def __init__(self, n_in: int, n_out: int, copies: int) -> None:
        super().__init__()
        unit = np.random.randn(n_out // copies, n_in).astype(np.float32) * 0.2
        self.weight = sa.Parameter(np.tile(unit, (copies, 1)))  # BUG: units repeat

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.weight.data.T

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.weight.grad += grad_output.T @ self.x
        return grad_output @ self.weight.data


def build() -> Experiment:
    mix = sa.Linear(24, 10)
    mix.W.data[...] = 0.1  # every unit feeds the head the same way: nothing breaks the tie
    model = sa.Sequential(Tiled(32, 24, 4), sa.Tanh(), mix)
    return experiment(model, "twin-units")
