"""A hand-written ReLU whose backward forgets the mask: it trains, silently worse."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class MyReLU(sa.Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        out = np.maximum(x, 0)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.saved_for_backward()
        return grad_output  # BUG: should be grad_output * (out > 0)


def build() -> Experiment:
    return experiment(sa.Sequential(sa.Linear(32, 64), MyReLU(), sa.Linear(64, 10)), "no-mask")
