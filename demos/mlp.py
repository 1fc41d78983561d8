"""The lesson's MLP: Linear(128->64) -> ReLU -> Linear(64->10), cross-entropy, SGD, 10 clusters.

Copy this file to start your own experiment: `scratchtui run my_model.py` calls build() the
same way `scratchtui demo mlp` does.
"""

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


def build() -> Experiment:
    data = make_clusters(n_samples=2000, num_features=128, num_classes=10, seed=0)
    train, val = sa.train_val_split(data, val_fraction=0.2, seed=0)
    model = sa.Sequential(
        sa.Linear(128, 64),  # W: (128, 64), b: (64,)
        sa.ReLU(),
        sa.Linear(64, 10),  # W: (64, 10), b: (10,) -> logits (batch, 10)
    )
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="mlp",
        description="the lesson's 128->64->10 MLP, cross-entropy, SGD lr 0.1",
    )
