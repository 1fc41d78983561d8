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


class LearnerBatchNorm(sa.Module):
    """A correct batch norm as learners write it: the running statistics re-assigned (a new
    array each step, not updated in place)."""

    def __init__(self, width: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.gamma = sa.Parameter(np.ones(width, np.float32))
        self.beta = sa.Parameter(np.zeros(width, np.float32))
        self.register_buffer("running_mean", np.zeros(width, np.float32))
        self.register_buffer("running_var", np.ones(width, np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + 1e-5)
        x_hat = (x - mean) * inv_std
        self.save_for_backward(x_hat, inv_std, self.training)
        return x_hat * self.gamma.data + self.beta.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std, training = self.saved_for_backward()
        self.gamma.accumulate_grad((grad_output * x_hat).sum(axis=0))
        self.beta.accumulate_grad(grad_output.sum(axis=0))
        d = grad_output * self.gamma.data
        if not training:
            return d * inv_std
        return inv_std * (d - d.mean(axis=0) - x_hat * (d * x_hat).mean(axis=0))


class LearnerDropout(sa.Module):
    """A correct Dropout as learners write it: NumPy's global generator, `if self.training`."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training:
            self.save_for_backward(None)
            return x
        mask = (np.random.rand(*x.shape) >= self.p) / (1.0 - self.p)
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (mask,) = self.saved_for_backward()
        return grad_output if mask is None else grad_output * mask


def learner_norm_and_dropout() -> tuple[sa.Module, sa.Optimizer]:
    model = sa.Sequential(
        sa.Linear(32, 40), LearnerBatchNorm(40), sa.ReLU(), LearnerDropout(0.2), sa.Linear(40, 10)
    )
    return model, sa.Adam(model.parameters(), lr=1e-3)


class FixedScale(sa.Module):
    """Constant buffers on purpose (a fixed standardisation): never change, same in both modes."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("shift", np.full(width, 0.1, np.float32))
        self.register_buffer("scale", np.full(width, 0.9, np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return (x - self.shift) * self.scale

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output * self.scale


def constant_buffers() -> sa.Module:
    return sa.Sequential(FixedScale(32), sa.Linear(32, 24), sa.Tanh(), sa.Linear(24, 10))


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
    learner_norm_and_dropout,
    constant_buffers,
]

#: The training-time diagnoses: the loss's and every module's backward, labels apart from
#: their inputs, randomness in eval mode, running statistics never updated (judged at epochs'
#: ends: these models train for 10 epochs).
SILENT_IN_TRAINING = {"backward_check", "mismatched_labels", "eval_randomness", "frozen_statistics"}


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


def test_the_backward_check_passes_a_linear_before_a_batchnorm(closing):
    """A Linear's bias before a BatchNorm has a zero gradient: the check that backward adds
    into .grad compares to the precision of what was there (once a false alarm)."""
    sa.manual_seed(0)
    stepper = closing(Stepper(experiment(twin_batchnorm()), breakpoints=Breakpoints.none()))
    stepper.run(max_steps=1)
    assert not [w.message for w in stepper.warnings if w.rule == "backward_check"]


@pytest.mark.parametrize("build", HEALTHY, ids=lambda f: f.__name__)
def test_a_healthy_model_raises_no_training_time_diagnosis(build, closing):
    sa.manual_seed(0)
    built = build()
    model, optimizer = built if isinstance(built, tuple) else (built, None)
    stepper = closing(Stepper(experiment(model, optimizer), breakpoints=Breakpoints.none()))
    stepper.run(max_steps=150)
    probed = [e.step for e in stepper.epochs if e.modes is not None]
    assert len(stepper.epochs) == 10 and probed == [15, 105]  # the first epoch, then sampled
    assert not [(w.rule, w.message) for w in stepper.warnings if w.rule in SILENT_IN_TRAINING]


class LearnerCrossEntropy(sa.Module):
    """A correct hand-written loss: the mean over the batch, and its 1/batch in the backward."""

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        self.save_for_backward(probs, targets)
        return float(-np.log(probs[np.arange(len(targets)), targets]).mean())

    def backward(self) -> np.ndarray:
        probs, targets = self.saved_for_backward()
        grad = probs.copy()
        grad[np.arange(len(targets)), targets] -= 1.0
        return grad / len(targets)


def test_a_correct_hand_written_loss_passes_its_backward_check(closing):
    sa.manual_seed(0)
    exp = experiment(sa.Sequential(sa.Linear(32, 20), sa.ReLU(), sa.Linear(20, 10)))
    exp.loss = LearnerCrossEntropy()
    stepper = closing(Stepper(exp, breakpoints=Breakpoints.none()))
    stepper.run(max_steps=20)
    assert stepper.backward_checks["(loss)"].passed
    assert not [w.message for w in stepper.warnings if w.rule in SILENT_IN_TRAINING]
