"""Parameter sharing: two branches use one weight (branch_b.W = branch_a.W), as in the lesson.

The shared W is counted once, stepped once, and receives gradient from both branches. The
model is a custom Module with its own forward and backward: a template for your own layers.
"""

import numpy as np

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class TwoBranchNet(sa.Module):
    """The left and right halves of the input go through the same weights, then one head."""

    def __init__(self) -> None:
        super().__init__()
        self.branch_a = sa.Linear(64, 32)
        self.branch_b = sa.Linear(64, 32)
        self.branch_b.W = self.branch_a.W  # the lesson's parameter sharing: one array, two owners
        self.act = sa.ReLU()
        self.head = sa.Linear(64, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (batch, 128) -> logits (batch, 10)."""
        left = self.branch_a(x[:, :64])  # (batch, 32)
        right = self.branch_b(x[:, 64:])  # (batch, 32), same W
        hidden = self.act(np.concatenate([left, right], axis=1))  # (batch, 64)
        return self.head(hidden)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: (batch, 10) -> grad wrt x: (batch, 128); both branches add into W.grad."""
        grad_hidden = self.act.backward(self.head.backward(grad_output))
        grad_left = self.branch_a.backward(grad_hidden[:, :32])
        grad_right = self.branch_b.backward(grad_hidden[:, 32:])
        return np.concatenate([grad_left, grad_right], axis=1)


def build() -> Experiment:
    data = make_clusters(n_samples=2000, num_features=128, num_classes=10, seed=1)
    train, val = sa.train_val_split(data, val_fraction=0.2, seed=0)
    model = TwoBranchNet()
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="shared",
        description="two branches sharing one weight matrix (branch_b.W = branch_a.W)",
    )
