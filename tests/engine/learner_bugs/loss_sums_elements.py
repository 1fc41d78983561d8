"""A regression with a hand-written squared error: the forward averages over every element,
the backward only over the batch (it forgets the 1/outputs)."""

import numpy as np

import scratchai as sa
from scratchai.engine import Experiment


class SquaredError(sa.Module):
    def forward(self, pred: np.ndarray, target: np.ndarray) -> float:
        self.save_for_backward(pred - target)
        return float(((pred - target) ** 2).mean())

    def backward(self) -> np.ndarray:
        (diff,) = self.saved_for_backward()
        return 2.0 * diff / diff.shape[0]  # BUG: the mean was over diff.size elements


class Regressor(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.parts = sa.ModuleDict({"body": sa.Linear(12, 24), "act": sa.Tanh()})
        self.head = sa.Linear(24, 4)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.head(self.parts["act"](self.parts["body"](x)))

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad = self.parts["act"].backward(self.head.backward(grad))
        return self.parts["body"].backward(grad)


def build() -> Experiment:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((400, 12)).astype(np.float32)
    y = (x[:, :4] * 0.5 + 0.1 * rng.standard_normal((400, 4))).astype(np.float32)
    train, val = sa.train_val_split(sa.ArrayDataset(x, y), val_fraction=0.2, seed=0)
    model = Regressor()
    return Experiment(
        model=model,
        loss=SquaredError(),
        optimizer=sa.SGD(model.parameters(), lr=0.05),
        train_loader=sa.DataLoader(train, batch_size=16, shuffle=True),
        val_data=val,
        name="loss-sums-elements",
    )
