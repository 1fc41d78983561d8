"""A big model on a few noisy samples: the training loss converges, validation does not."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 256), sa.ReLU(), sa.Linear(256, 10))
    # few samples, heavy noise: memorised, not learned
    return experiment(model, "overfit-gap", lr=0.1, n_samples=200, spread=12.0)
