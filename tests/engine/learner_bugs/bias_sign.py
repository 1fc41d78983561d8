"""A hand-written Linear with a sign error in the bias gradient."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class MyLinear(sa.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.W = sa.Parameter(np.random.default_rng(0).normal(0, n_in**-0.5, (n_in, n_out)))
        self.b = sa.Parameter(np.zeros(n_out))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return x @ self.W.data + self.b.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (x,) = self.saved_for_backward()
        self.W.accumulate_grad(x.T @ grad_output)
        self.b.accumulate_grad(-grad_output.sum(axis=0))  # BUG: the sign
        return grad_output @ self.W.data.T


def build() -> Experiment:
    return experiment(sa.Sequential(sa.Linear(32, 64), sa.ReLU(), MyLinear(64, 10)), "bias-sign")
