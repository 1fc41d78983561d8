"""The lesson's silent broadcast: a learner's own layer with its bias made as np.zeros(1)."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class MyLinear(sa.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.W = sa.Parameter(np.random.randn(n_in, n_out).astype(np.float32) / np.sqrt(n_in))
        self.b = sa.Parameter(np.zeros(1, np.float32))  # BUG: should be np.zeros(n_out)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.W.data + self.b.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.W.grad += self.x.T @ grad_output
        self.b.grad += grad_output.sum().reshape(1)
        return grad_output @ self.W.data.T


class Net(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = MyLinear(32, 64)
        self.act = sa.ReLU()
        self.fc2 = sa.Linear(64, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.fc2(self.act(self.fc1(x)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.fc1.backward(self.act.backward(self.fc2.backward(grad_output)))


def build() -> Experiment:
    return experiment(Net(), "scalar-bias")
