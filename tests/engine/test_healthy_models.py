"""Healthy models raise none of the silent-failure diagnoses: residual sums, tied and
transposed-tied weights, a module reused twice, BatchNorm + Dropout + Adam, twin BatchNorm
layers, zero biases of one size, learnable scalars, a zero-initialised head, the demos.

Shared corpus: add a model to ``HEALTHY`` (a function returning the model, and optionally the
optimizer) and a rule to ``SILENT`` (the rules none of them may raise).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Breakpoints, Experiment, Stepper
from scratchai.engine.checks.lints import LINT_RULES

#: Rules no healthy model may raise (the build-time lints; add the other checks' own).
SILENT: set[str] = {*LINT_RULES}


def experiment(model: sa.Module, optimizer: sa.Optimizer | None = None) -> Experiment:
    full = make_clusters(n_samples=600, num_features=32, num_classes=10, seed=3)
    train, val = sa.train_val_split(full, val_fraction=0.2, seed=0)
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=optimizer or sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="healthy",
    )


class Residual(sa.Module):
    """x + f(x): the sum of two paths."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.inner = sa.Sequential(sa.Linear(width, width), sa.ReLU(), sa.Linear(width, width))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.inner(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output + self.inner.backward(grad_output)


def residual() -> sa.Module:
    return sa.Sequential(sa.Linear(32, 24), Residual(24), sa.ReLU(), sa.Linear(24, 10))


class TiedDecoder(sa.Module):
    """Decodes with the encoder's own weight, transposed: one Parameter, two owners."""

    def __init__(self, encoder: sa.Linear) -> None:
        super().__init__()
        self.W = encoder.W  # a tie on purpose
        self.b = sa.Parameter(np.zeros(encoder.in_features, np.float32))

    def forward(self, h: np.ndarray) -> np.ndarray:
        self.h = h
        return h @ self.W.data.T + self.b.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self.W.grad += grad_output.T @ self.h
        self.b.grad += grad_output.sum(axis=0)
        return grad_output @ self.W.data


def transposed_tie() -> sa.Module:
    encoder = sa.Linear(32, 12)
    return sa.Sequential(encoder, sa.Tanh(), TiedDecoder(encoder), sa.Linear(32, 10))


class Twice(sa.Module):
    """One block called twice in the forward (its weights reused)."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = sa.Linear(32, 20)
        self.block = sa.Sequential(sa.Linear(20, 20), sa.Tanh())
        self.out = sa.Linear(20, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.out(self.block(self.block(self.inp(x))))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.block.backward(self.block.backward(self.out.backward(grad_output)))
        return self.inp.backward(g)


def reused_twice() -> sa.Module:
    return Twice()


def batchnorm_dropout_adam() -> tuple[sa.Module, sa.Optimizer]:
    model = sa.Sequential(
        sa.Linear(32, 48),
        sa.BatchNorm1d(48),
        sa.ReLU(),
        sa.Dropout(0.3),
        sa.Linear(48, 48),
        sa.BatchNorm1d(48),
        sa.ReLU(),
        sa.Linear(48, 10),
    )
    return model, sa.Adam(model.parameters(), lr=1e-3)


class TwinBranches(sa.Module):
    """Two branches alike: twin BatchNorm layers (gamma 1, beta 0 in both) and zero biases."""

    def __init__(self) -> None:
        super().__init__()
        self.left = sa.Sequential(sa.Linear(16, 16), sa.BatchNorm1d(16), sa.ReLU())
        self.right = sa.Sequential(sa.Linear(16, 16), sa.BatchNorm1d(16), sa.ReLU())
        for branch in (self.left, self.right):
            branch[0].b.data[...] = 0.0  # zero biases of one size: equal, not copies
        self.head = sa.Linear(32, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = np.concatenate([self.left(x[:, :16]), self.right(x[:, 16:])], axis=1)
        return self.head(h)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.head.backward(grad_output)
        return np.concatenate([self.left.backward(g[:, :16]), self.right.backward(g[:, 16:])], 1)


def twin_batchnorm() -> sa.Module:
    return TwinBranches()


class Containers(sa.Module):
    """Layers in a ModuleList and heads in a ModuleDict: registered containers."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = sa.ModuleList([sa.Linear(32, 32), sa.ReLU(), sa.Linear(32, 32), sa.ReLU()])
        self.heads = sa.ModuleDict({"a": sa.Linear(32, 5), "b": sa.Linear(32, 5)})

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.hidden:
            x = layer(x)
        return np.concatenate([self.heads["a"](x), self.heads["b"](x)], axis=1)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        g = self.heads["a"].backward(grad_output[:, :5]) + self.heads["b"].backward(
            grad_output[:, 5:]
        )
        for layer in reversed(list(self.hidden)):
            g = layer.backward(g)
        return g


def module_containers() -> sa.Module:
    return Containers()


class Temperature(sa.Module):
    """One learnable scalar that divides the logits: broadcast on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self.log_t = sa.Parameter(np.zeros(1, np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * np.exp(-self.log_t.data)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        scale = np.exp(-self.log_t.data)
        self.log_t.grad += -(grad_output * self.x * scale).sum().reshape(1)
        return grad_output * scale


def learnable_scalar() -> sa.Module:
    return sa.Sequential(sa.Linear(32, 32), sa.ReLU(), sa.Linear(32, 10), Temperature())


def zero_head() -> sa.Module:
    """A zero-initialised output layer: symmetric at init, told apart by the first update."""
    head = sa.Linear(40, 10)
    head.W.data[...] = 0.0
    head.b.data[...] = 0.0
    return sa.Sequential(sa.Linear(32, 40), sa.ReLU(), head)


def identity_twins() -> sa.Module:
    """Two square layers both initialised to the identity: equal, but by design."""
    first, second = sa.Linear(32, 32), sa.Linear(32, 32)
    for layer in (first, second):
        layer.W.data[...] = np.eye(32, dtype=np.float32)
    return sa.Sequential(first, sa.Tanh(), second, sa.Tanh(), sa.Linear(32, 10))


HEALTHY: list[Callable[[], sa.Module | tuple[sa.Module, sa.Optimizer]]] = [
    residual,
    transposed_tie,
    reused_twice,
    batchnorm_dropout_adam,
    twin_batchnorm,
    module_containers,
    learnable_scalar,
    zero_head,
    identity_twins,
]


@pytest.mark.parametrize("build", HEALTHY, ids=lambda f: f.__name__)
def test_a_healthy_model_raises_no_silent_failure(build, closing):
    sa.manual_seed(0)
    built = build()
    model, optimizer = built if isinstance(built, tuple) else (built, None)
    stepper = closing(Stepper(experiment(model, optimizer), breakpoints=Breakpoints.none()))
    stepper.run(max_steps=40)
    assert not [(w.rule, w.message) for w in stepper.warnings if w.rule in SILENT]
    assert not any("not registered" in m.path for m in stepper.last_step.modules)


@pytest.mark.parametrize("name", ["mlp", "shared", "batchnorm", "digits", "diverge"])
def test_the_demos_raise_no_silent_failure(name, make_stepper):
    stepper = make_stepper(name, breakpoints=Breakpoints.none())
    stepper.run(max_steps=40)
    assert not [(w.rule, w.message) for w in stepper.warnings if w.rule in SILENT]


@pytest.mark.xfail(
    reason="known false alarm of the backward check: a Linear's bias before a BatchNorm has a "
    "zero gradient, and the check calls its backward wrong ('changes the gradient already in')",
    strict=True,
)
def test_the_backward_check_passes_a_linear_before_a_batchnorm(closing):
    sa.manual_seed(0)
    stepper = closing(Stepper(experiment(twin_batchnorm()), breakpoints=Breakpoints.none()))
    stepper.run(max_steps=1)
    assert not [w.message for w in stepper.warnings if w.rule == "backward_check"]
