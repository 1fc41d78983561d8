"""A learner's noise layer (a regulariser) that adds its noise in eval mode too."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class GaussianNoise(sa.Module):
    def __init__(self, std: float) -> None:
        super().__init__()
        self.std = std

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.std * sa.get_rng().standard_normal(x.shape)  # BUG: in eval too

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output


class Net(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.parts = sa.ModuleDict(
            {"inp": sa.Linear(32, 80), "noise": GaussianNoise(0.2), "act": sa.ReLU()}
        )
        self.out = sa.Linear(80, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        p = self.parts
        return self.out(p["act"](p["noise"](p["inp"](x))))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        p = self.parts
        return p["inp"].backward(p["noise"].backward(p["act"].backward(self.out.backward(grad))))


def build() -> Experiment:
    return experiment(Net(), "eval-noise")
