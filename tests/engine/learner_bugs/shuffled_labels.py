"""The training labels shuffled on their own (X left in place): the model memorises them,
validation stays at chance."""

import numpy as np

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


def build() -> Experiment:
    full = make_clusters(n_samples=300, num_features=32, num_classes=10, seed=1)
    train, val = sa.train_val_split(full, val_fraction=0.2, seed=0)
    y = np.random.default_rng(0).permutation(train.y)  # BUG: X and y shuffled apart
    train = sa.ArrayDataset(train.X, y, num_classes=10)
    model = sa.Sequential(sa.Linear(32, 256), sa.ReLU(), sa.Linear(256, 10))
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="shuffled-labels",
    )
