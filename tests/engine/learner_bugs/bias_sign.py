"""A hand-written Linear with a sign error in the bias gradient."""

from typing import Any

import numpy as np

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


class MyLinear(sa.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.W = sa.Parameter(np.random.default_rng(0).normal(0, n_in**-0.5, (n_in, n_out)))
        self.b = sa.Parameter(np.zeros(n_out))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.save_for_backward(x)
        return x @ self.W.data + self.b.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (x,) = self.saved_for_backward()
        self.W.accumulate_grad(x.T @ grad_output)
        self.b.accumulate_grad(-grad_output.sum(axis=0))  # BUG: the sign
        return grad_output @ self.W.data.T


def build() -> Experiment:
    return experiment(sa.Sequential(sa.Linear(32, 64), sa.ReLU(), MyLinear(64, 10)), "bias-sign")
