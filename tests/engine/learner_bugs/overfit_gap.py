"""A big model on a few noisy samples: the training loss converges, validation does not."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 256), sa.ReLU(), sa.Linear(256, 10))
    # few samples, noisy: memorised, and only a little learned (validation about 33 %, above
    # chance: with spread 12 it stayed at chance, which is no overfitting but inputs that
    # carry nothing about their labels, as when the labels are shuffled)
    return experiment(model, "overfit-gap", lr=0.1, n_samples=200, spread=4.0)
