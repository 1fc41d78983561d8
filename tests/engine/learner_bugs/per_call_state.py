"""A layer used twice in one forward that keeps its input on self: the first call's backward
uses the second call's input."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class StatefulLinear(sa.Linear):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x  # BUG: one slot for every call
        return x @ self.W.data + self.b.data

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray:
        self.W.accumulate_grad(self.x.T @ grad_output)
        self.b.accumulate_grad(grad_output.sum(axis=0))
        return grad_output @ self.W.data.T


class Twice(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = sa.Linear(32, 16)
        self.block = StatefulLinear(16, 16)
        self.act = sa.Tanh()
        self.head = sa.Linear(16, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = self.block(self.act(self.block(self.inp(x))))  # the same block twice
        return self.head(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.block.backward(self.head.backward(grad_output))
        return self.inp.backward(self.block.backward(self.act.backward(g)))


def build() -> Experiment:
    return experiment(Twice(), "per-call-state")
