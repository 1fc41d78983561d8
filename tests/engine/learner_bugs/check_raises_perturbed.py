"""A layer that refuses negative input, after a ReLU: fine in training, but the backward
check nudges a zero to -1e-6 and its forward raises there."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class RootFeatures(sa.Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if np.any(x < 0):
            raise ValueError("RootFeatures needs non-negative input")
        out = np.sqrt(x + 1.0)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (out,) = self.saved_for_backward()
        return grad_output / (2.0 * out)


class Net(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = sa.ModuleList(
            [sa.Linear(32, 40), sa.ReLU(), RootFeatures(), sa.Linear(40, 10)]
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


def build() -> Experiment:
    return experiment(Net(), "check-raises-perturbed")
