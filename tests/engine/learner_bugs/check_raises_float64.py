"""A layer that insists on float32 input: the backward check's float64 copy makes it raise."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Float32Only(sa.Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.dtype != np.float32:
            raise TypeError(f"Float32Only wants float32 input, got {x.dtype}")
        return 2.0 * x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return 2.0 * grad_output


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 48), Float32Only(), sa.ReLU(), sa.Linear(48, 10))
    return experiment(model, "check-raises-float64")
