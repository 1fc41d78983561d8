"""Every weight initialised to one constant: the hidden units stay identical forever."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    model = sa.Sequential(
        sa.Linear(32, 64), sa.ReLU(), sa.Linear(64, 64), sa.ReLU(), sa.Linear(64, 10)
    )
    for p in model.parameters():
        p.data[...] = 0.05  # BUG: symmetry
    return experiment(model, "constant-init")
