"""The data and training every learner-bug file shares (a sibling module: a model file's
folder is importable, so a user's files can share code the same way)."""

from typing import Any

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


def experiment(
    model: sa.Module,
    name: str,
    lr: float = 0.1,
    n_samples: int = 1000,
    features: int = 32,
    scale: float = 1.0,
    **data: Any,
) -> Experiment:
    """``model`` trained with SGD on clusters of ``features`` features (times ``scale``)."""
    full = make_clusters(n_samples=n_samples, num_features=features, num_classes=10, **data)
    if scale != 1.0:
        full = sa.ArrayDataset(full.X * scale, full.y, num_classes=10)
    train, val = sa.train_val_split(full, val_fraction=0.2, seed=0)
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=lr),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name=name,
    )
