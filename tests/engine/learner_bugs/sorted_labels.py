"""The training labels sorted (the inputs not): each label now belongs to another input."""

import numpy as np

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class Classifier(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.blocks = sa.ModuleList([sa.Linear(20, 192), sa.Tanh(), sa.Linear(192, 4)])

    def forward(self, x: np.ndarray) -> np.ndarray:
        for block in self.blocks:
            x = block(x)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        for block in reversed(self.blocks):
            grad = block.backward(grad)
        return grad


def build() -> Experiment:
    full = make_clusters(n_samples=250, num_features=20, num_classes=4, seed=5)
    train, val = sa.train_val_split(full, val_fraction=0.2, seed=0)
    train = sa.ArrayDataset(train.X, np.sort(train.y), num_classes=4)  # BUG: y sorted alone
    model = Classifier()
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.Adam(model.parameters(), lr=0.01),
        train_loader=sa.DataLoader(train, batch_size=16, shuffle=True),
        val_data=val,
        name="sorted-labels",
    )
