"""A dense layer of one's own (weight stored (out, in)) whose bias is (1, 1), in a ModuleList."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Dense(sa.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.weight = sa.Parameter(np.random.randn(n_out, n_in).astype(np.float32) * 0.1)
        self.shift = sa.Parameter(np.full((1, 1), 0.1, np.float32))  # BUG: one shift for all

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.weight.data.T + self.shift.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.weight.grad += grad_output.T @ self.x
        self.shift.grad += grad_output.sum().reshape(1, 1)
        return grad_output @ self.weight.data


class Stack(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = sa.ModuleList([sa.Linear(32, 40), Dense(40, 48), sa.Linear(48, 10)])
        self.act = sa.Tanh()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.layers[2](self.act(self.layers[1](self.layers[0](x))))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.act.backward(self.layers[2].backward(grad_output))
        return self.layers[0].backward(self.layers[1].backward(g))


def build() -> Experiment:
    return experiment(Stack(), "row-bias")
