"""Every backward agrees with central finite differences at float64 (worst rel. error < 1e-6)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import scratchai as sa
from scratchai import (
    BatchNorm1d,
    CrossEntropyLoss,
    Dropout,
    Identity,
    Linear,
    Module,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    gradcheck,
)

F64 = np.float64
TOL = 1e-6


def _x(shape=(4, 5), seed=1234) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


class SharedPair(Module):
    """Two Linears sharing W (``b.W = a.W``), with a Tanh between them."""

    def __init__(self) -> None:
        super().__init__()
        self.a = Linear(5, 5, dtype=F64)
        self.act = Tanh()
        self.b = Linear(5, 5, dtype=F64)
        self.b.W = self.a.W

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.b(self.act(self.a(x)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.a.backward(self.act.backward(self.b.backward(grad_output)))


def _used_twice() -> Module:
    layer = Linear(5, 5, dtype=F64)
    return Sequential(layer, Tanh(), layer)


BUILDERS: dict[str, Callable[[], Module]] = {
    "Linear": lambda: Linear(5, 3, dtype=F64),
    "Linear-no-bias": lambda: Linear(5, 3, bias=False, dtype=F64),
    "ReLU": ReLU,
    "Tanh": Tanh,
    "Sigmoid": Sigmoid,
    "Identity": Identity,
    "Dropout-eval": lambda: Dropout(0.4).eval(),
    "Dropout-train": lambda: Dropout(0.4),
    "BatchNorm1d-train": lambda: BatchNorm1d(5, dtype=F64),
    "BatchNorm1d-eval": lambda: _eval_batchnorm(),
    "Sequential": lambda: Sequential(
        Linear(5, 6, dtype=F64), Tanh(), BatchNorm1d(6, dtype=F64), ReLU(), Linear(6, 3, dtype=F64)
    ),
    "used-twice": _used_twice,
    "shared-parameter": SharedPair,
}


def _eval_batchnorm() -> BatchNorm1d:
    bn = BatchNorm1d(5, dtype=F64)
    bn.running_mean[...] = np.linspace(-1, 1, 5)
    bn.running_var[...] = np.linspace(0.5, 2, 5)
    bn.gamma.data[...] = np.linspace(0.5, 1.5, 5)
    bn.beta.data[...] = 0.3
    return bn.eval()


@pytest.mark.parametrize("name", list(BUILDERS))
def test_gradcheck_every_module(name: str) -> None:
    sa.manual_seed(0)
    model = BUILDERS[name]()
    report = gradcheck(model, _x())
    assert report.ok(TOL), str(report)
    expected = ["input"] + [n for n, _ in model.named_parameters()]
    assert [e.name for e in report.entries] == expected


def test_gradcheck_used_twice_and_shared_report_each_parameter_once() -> None:
    sa.manual_seed(0)
    assert [e.name for e in gradcheck(_used_twice(), _x()).entries] == ["input", "0.W", "0.b"]
    names = [e.name for e in gradcheck(SharedPair(), _x()).entries]
    assert names == ["input", "a.W", "a.b", "b.b"]


def test_shared_parameter_gets_gradient_from_both_uses() -> None:
    sa.manual_seed(0)
    pair = SharedPair()
    x = _x()
    out = pair(x)
    pair.backward(np.ones_like(out))
    shared = pair.a.W.grad.copy()
    h = np.tanh(x @ pair.a.W.data + pair.a.b.data)
    second_use = h.T @ np.ones_like(out)
    assert not np.allclose(shared, second_use)  # the first use contributed too
    assert gradcheck(pair, x).ok(TOL)


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "MSELoss"])
def test_gradcheck_losses(name: str) -> None:
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((6, 4)) * 3
    if name == "CrossEntropyLoss":
        report = gradcheck(CrossEntropyLoss(), logits, target=np.array([0, 3, 1, 2, 3, 1]))
    else:
        report = gradcheck(MSELoss(), logits, target=rng.standard_normal((6, 4)))
    assert report.ok(TOL), str(report)
    assert [e.name for e in report.entries] == ["input"]


def test_gradcheck_model_with_loss() -> None:
    sa.manual_seed(2)
    model = BUILDERS["Sequential"]()
    report = gradcheck(model, _x(), target=np.array([0, 2, 1, 2]), loss=CrossEntropyLoss())
    assert report.ok(TOL), str(report)
    assert len(report.entries) == 1 + 6


def test_gradcheck_detects_a_wrong_backward() -> None:
    class BadTanh(Tanh):
        def backward(self, grad_output: np.ndarray) -> np.ndarray:
            (out,) = self.saved_for_backward()
            return grad_output * (1.0 - out)  # forgot the square

    report = gradcheck(BadTanh(), _x())
    assert not report.ok(1e-2)
    assert report["input"].worst_rel_error > 1e-2
    assert "input" in str(report)


def test_gradcheck_detects_a_wrong_parameter_gradient() -> None:
    class BadLinear(Linear):
        def backward(self, grad_output: np.ndarray) -> np.ndarray:
            grad_input = super().backward(grad_output)
            self.b.accumulate_grad(np.ones(self.out_features))
            return grad_input

    sa.manual_seed(0)
    report = gradcheck(BadLinear(5, 3, dtype=F64), _x())
    assert report["b"].worst_rel_error > 1e-2
    assert report["W"].worst_rel_error < TOL


def test_gradcheck_leaves_model_grads_buffers_and_rng_unchanged() -> None:
    sa.manual_seed(0)
    model = Sequential(Linear(5, 4, dtype=F64), BatchNorm1d(4, dtype=F64), Dropout(0.5))
    x = _x()
    out = model(x)
    model.backward(np.ones_like(out))
    grads = [p.grad.copy() for p in model.parameters()]
    buffers = [b.copy() for b in model.buffers()]
    rng_state = sa.random.get_rng_state()
    x_before = x.copy()
    gradcheck(model, x)
    for p, g in zip(model.parameters(), grads, strict=True):
        np.testing.assert_array_equal(p.grad, g)
    for b, saved in zip(model.buffers(), buffers, strict=True):
        np.testing.assert_array_equal(b, saved)
    assert sa.random.get_rng_state() == rng_state
    np.testing.assert_array_equal(x, x_before)


def test_gradcheck_warns_on_float32() -> None:
    with pytest.warns(UserWarning, match="float64"):
        gradcheck(Linear(3, 2), np.ones((2, 3), np.float32))


def test_gradcheck_refuses_plain_function() -> None:
    with pytest.raises(TypeError, match="backward"):
        gradcheck(np.tanh, _x())


def test_projection_is_not_the_input_when_seeds_coincide() -> None:
    # BatchNorm's output is affine in x per feature: with R == x its input gradient would vanish
    # and the check would compare rounding noise.
    sa.manual_seed(0)
    report = gradcheck(BatchNorm1d(5, dtype=F64), np.random.default_rng(0).standard_normal((4, 5)))
    assert report.ok(TOL), str(report)
    assert abs(report["input"].analytic) > 1e-3


def test_dropout_train_check_uses_a_real_mask() -> None:
    x = _x((6, 8))
    sa.manual_seed(4)
    report = gradcheck(Dropout(0.5), x)
    assert report.ok(TOL), str(report)
    sa.manual_seed(4)  # gradcheck restarts every forward from the state it was given
    dropped = Dropout(0.5)(x) == 0
    assert 0 < dropped.sum() < x.size
