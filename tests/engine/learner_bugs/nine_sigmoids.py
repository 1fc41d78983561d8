"""Nine Sigmoid layers: the gradient vanishes before it reaches the first layers."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    layers: list[sa.Module] = [sa.Linear(32, 32), sa.Sigmoid()]
    for _ in range(8):
        layers += [sa.Linear(32, 32), sa.Sigmoid()]
    return experiment(sa.Sequential(*layers, sa.Linear(32, 10)), "nine-sigmoids")
