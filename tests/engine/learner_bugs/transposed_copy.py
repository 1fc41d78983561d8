"""An autoencoder-like tie done by copying the transpose into a new Parameter."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Tied(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encode = sa.Linear(32, 12)
        self.decode = sa.Linear(12, 32)
        self.decode.W = sa.Parameter(self.encode.W.data.T.copy())  # BUG: a transposed copy
        self.classify = sa.Linear(32, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.classify(self.decode(self.encode(x)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.encode.backward(self.decode.backward(self.classify.backward(grad_output)))


def build() -> Experiment:
    return experiment(Tied(), "transposed-copy")
