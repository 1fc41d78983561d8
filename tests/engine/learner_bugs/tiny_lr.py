"""The lesson's MLP with a learning rate of 1e-6: the loss never leaves ln(10)."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 64), sa.ReLU(), sa.Linear(64, 10))
    return experiment(model, "tiny-lr", lr=1e-6)
