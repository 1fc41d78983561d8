"""A layer used twice in one forward that keeps its input on self: the first call's backward
uses the second call's input."""

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


class StatefulLinear(sa.Linear):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x  # BUG: one slot for every call
        return x @ self.W.data + self.b.data

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray:
        self.W.accumulate_grad(self.x.T @ grad_output)
        self.b.accumulate_grad(grad_output.sum(axis=0))
        return grad_output @ self.W.data.T


class Twice(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = sa.Linear(32, 16)
        self.block = StatefulLinear(16, 16)
        self.act = sa.Tanh()
        self.head = sa.Linear(16, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = self.block(self.act(self.block(self.inp(x))))  # the same block twice
        return self.head(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.block.backward(self.head.backward(grad_output))
        return self.inp.backward(self.block.backward(self.act.backward(g)))


def build() -> Experiment:
    return experiment(Twice(), "per-call-state")
