"""Two Parameters made around one array: counted twice and stepped twice per update."""

from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


def build() -> Experiment:
    encoder, mixer = sa.Linear(32, 48), sa.Linear(48, 48)
    refine = sa.Linear(48, 48)
    refine.W = sa.Parameter(mixer.W.data)  # BUG: a second Parameter on mixer's array
    model = sa.Sequential(
        encoder, sa.ReLU(), mixer, sa.ReLU(), refine, sa.ReLU(), sa.Linear(48, 10)
    )
    return experiment(model, "same-array")
