"""Raw inputs a thousand times too large: the data is at fault, not the init."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 64), sa.ReLU(), sa.Linear(64, 10))
    return experiment(model, "inputs-x1000", lr=0.01, scale=1000.0)
