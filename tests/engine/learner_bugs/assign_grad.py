"""A shared weight whose owners assign (=) their gradient instead of adding (+=): one use lost."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class AssigningLinear(sa.Linear):
    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray:
        (x,) = self.saved_for_backward()
        self.W.grad = x.T @ grad_output  # BUG: overwrites the other branch's gradient
        self.b.accumulate_grad(grad_output.sum(axis=0))
        return grad_output @ self.W.data.T


class TwoBranches(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = AssigningLinear(16, 16)
        self.b = AssigningLinear(16, 16)
        self.b.W = self.a.W  # shared
        self.act = sa.ReLU()
        self.head = sa.Linear(32, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = np.concatenate([self.a(x[:, :16]), self.b(x[:, 16:])], axis=1)
        return self.head(self.act(h))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.act.backward(self.head.backward(grad_output))
        return np.concatenate([self.a.backward(g[:, :16]), self.b.backward(g[:, 16:])], axis=1)


def build() -> Experiment:
    return experiment(TwoBranches(), "assign")
