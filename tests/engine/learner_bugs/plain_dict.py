"""Two heads kept in a plain dict inside a registered block: not in the model's tree."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class TwoHeads(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.heads = {"left": sa.Linear(24, 5), "right": sa.Linear(24, 5)}  # BUG: a dict

    def forward(self, h: np.ndarray) -> np.ndarray:
        return np.concatenate([self.heads["left"](h), self.heads["right"](h)], axis=1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.heads["left"].backward(grad_output[:, :5]) + self.heads["right"].backward(
            grad_output[:, 5:]
        )


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 24), sa.Tanh(), TwoHeads())
    return experiment(model, "plain-dict")
