"""Stages (each a Sequential) kept in a tuple: the stages and their layers are not in the tree."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Staged(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stages = (  # BUG: a tuple
            sa.Sequential(sa.Linear(32, 48), sa.ReLU()),
            sa.Sequential(sa.Linear(48, 48), sa.ReLU()),
        )
        self.classifier = sa.Linear(48, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for stage in self.stages:
            x = stage(x)
        return self.classifier(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.classifier.backward(grad_output)
        for stage in reversed(self.stages):
            g = stage.backward(g)
        return g


def build() -> Experiment:
    return experiment(Staged(), "tuple-of-stages")
