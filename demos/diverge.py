"""Divergence on purpose: the lesson's MLP with a learning rate far too high.

Within a few dozen steps the loss explodes to NaN and the divergence rules fire, naming the
first module whose output went non-finite. Recover the way the lesson says: rewind a few
steps (b), reduce the lr ([ several times) and run again (r).
"""

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


def build() -> Experiment:
    data = make_clusters(n_samples=2000, num_features=128, num_classes=10, seed=0)
    train, val = sa.train_val_split(data, val_fraction=0.2, seed=0)
    model = sa.Sequential(sa.Linear(128, 64), sa.ReLU(), sa.Linear(64, 10))
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=8.0),  # about 100x too high for this model
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="diverge",
        description="the lesson's MLP with lr 8.0: the loss explodes, the rules fire; recover",
    )
