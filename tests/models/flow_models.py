"""Models whose forward is not a plain chain, for the flow tests: a residual block, a module
called twice, and a weight tied between two layers. ``load(name)`` returns the experiment; the
CLI tests run this file with ``build = build_<name>`` appended."""

import numpy as np

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class Residual(sa.Module):
    """``x + f(x)``: a residual sum around a small block."""

    formula = "x + f(x)"

    def __init__(self, n: int) -> None:
        super().__init__()
        self.f = sa.Sequential(sa.Linear(n, n), sa.Tanh())

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (batch, n) -> (batch, n)."""
        return x + self.f(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output + self.f.backward(grad_output)


class ResidualNet(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inp = sa.Linear(8, 16)
        self.block = Residual(16)
        self.out = sa.Linear(16, 3)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.out(self.block(self.inp(x)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.inp.backward(self.block.backward(self.out.backward(grad_output)))


class Scale(sa.Module):
    """A user's layer that declares no formula: the flow shows its class name and shapes."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * 2.0

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output * 2.0


class TwiceNet(sa.Module):
    """``block`` is called twice in one forward: same weights, two calls."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = sa.Linear(8, 16)
        self.block = sa.Linear(16, 16)
        self.act = sa.ReLU()
        self.scale = Scale()
        self.out = sa.Linear(16, 3)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = self.act(self.block(self.inp(x)))
        return self.out(self.scale(self.block(h)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.scale.backward(self.out.backward(grad_output))
        g = self.act.backward(self.block.backward(g))
        return self.inp.backward(self.block.backward(g))


def tied_model() -> sa.Sequential:
    """Two hidden layers that use one weight matrix (``model[4].W = model[2].W``)."""
    model = sa.Sequential(
        sa.Linear(8, 16),
        sa.ReLU(),
        sa.Linear(16, 16),
        sa.ReLU(),
        sa.Linear(16, 16),
        sa.Linear(16, 3),
    )
    model[4].W = model[2].W
    return model


def _experiment(model: sa.Module, name: str) -> Experiment:
    data = make_clusters(n_samples=256, num_features=8, num_classes=3, seed=0)
    return Experiment(
        model,
        sa.CrossEntropyLoss(),
        sa.SGD(model.parameters(), lr=0.1),
        sa.DataLoader(data, batch_size=16),
        name=name,
    )


def build_residual() -> Experiment:
    return _experiment(ResidualNet(), "residual")


def build_twice() -> Experiment:
    return _experiment(TwiceNet(), "twice")


def build_tied() -> Experiment:
    return _experiment(tied_model(), "tied")


def load(name: str) -> Experiment:
    return {"residual": build_residual, "twice": build_twice, "tied": build_tied}[name]()
