"""BatchNorm1d in an MLP: running mean/var buffers change each step, and train and eval differ.

In train mode BatchNorm normalises with the batch's statistics and updates its running
buffers; in eval mode (the validation pass at each epoch's end) it uses the running ones.
"""

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


def build() -> Experiment:
    data = make_clusters(n_samples=2000, num_features=128, num_classes=10, seed=2)
    train, val = sa.train_val_split(data, val_fraction=0.2, seed=0)
    model = sa.Sequential(
        sa.Linear(128, 64),
        sa.BatchNorm1d(64),  # parameters gamma, beta; buffers running_mean, running_var
        sa.ReLU(),
        sa.Linear(64, 10),
    )
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.1, momentum=0.9),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="batchnorm",
        description="an MLP with BatchNorm1d: buffers that change, train and eval that differ",
    )
