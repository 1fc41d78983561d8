"""Tanh layers after a far too large init: most units sit in the flat tails."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    first, second = sa.Linear(32, 64), sa.Linear(64, 64)
    first.W.data[...] *= 20.0  # BUG: init scale
    second.W.data[...] *= 20.0
    model = sa.Sequential(first, sa.Tanh(), second, sa.Tanh(), sa.Linear(64, 10))
    return experiment(model, "saturated-tanh", lr=0.01)
