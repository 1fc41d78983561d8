"""The backward check: each kind of wrong backward named, library modules pass, nothing changes."""

from __future__ import annotations

import random

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine.checks import check_backward
from scratchai.engine.checks.diagnose import shape_problem
from scratchai.random import get_rng_state


class Scaled(sa.Module):
    """``factor * x``, with a backward that multiplies by ``wrong`` (the bug under test)."""

    def __init__(self, factor: float = 2.0, wrong: float = 2.0) -> None:
        super().__init__()
        self.factor, self.wrong = factor, wrong

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.factor * x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.wrong * grad_output


class MeanInsteadOfSum(sa.Linear):
    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray:
        (x,) = self.saved_for_backward()
        self.W.accumulate_grad(x.T @ grad_output / len(x))  # an extra 1/batch
        self.b.accumulate_grad(grad_output.sum(axis=0))
        return grad_output @ self.W.data.T


def report_for(layer: sa.Module, x: np.ndarray | None = None) -> list[str]:
    model = sa.Sequential(sa.Linear(8, 8), layer, sa.Linear(8, 3))
    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32) if x is None else x
    [check] = [m for m in check_backward(model, x).modules if m.path == "1"]
    return list(check.problems)


@pytest.mark.parametrize(
    "layer",
    [sa.ReLU(), sa.Tanh(), sa.Sigmoid(), sa.Identity(), sa.Dropout(0.3), sa.BatchNorm1d(8)],
    ids=lambda m: type(m).__name__,
)
def test_the_library_modules_pass(layer):
    assert report_for(layer) == []


def test_a_small_scale_error_is_caught_and_its_factor_named():
    [problem] = report_for(Scaled(2.0, 2.02))
    assert problem.startswith("input gradient is 1.01 times the true gradient")


def test_a_missing_one_over_batch_in_a_parameter_gradient():
    [problem] = report_for(MeanInsteadOfSum(8, 8))
    assert problem.startswith("gradient w.r.t. W is 0.1667 times")  # 1/6: the batch of 6


def test_shapes_and_none_are_named():
    assert "it is transposed" in shape_problem(np.zeros((3, 2)), (2, 3), "X.backward")
    assert "broadcast" in shape_problem(np.zeros((1, 8)), (8, 8), "X.backward")
    assert "returned None" in shape_problem(None, (8, 8), "X.backward")
    assert shape_problem(np.zeros((8, 8)), (8, 8), "X.backward") == ""


def test_a_kink_in_the_data_is_not_a_failure():
    # a ReLU straight on data with exact zeros: finite differences straddle the kink there
    x = np.zeros((6, 8), np.float32)
    x[:, ::2] = 1.0
    model = sa.Sequential(sa.ReLU(), sa.Linear(8, 3))
    assert check_backward(model, x).passed


def test_the_cost_is_bounded_on_a_big_layer():
    model = sa.Sequential(sa.Linear(512, 512), sa.ReLU(), sa.Linear(512, 10))
    x = np.random.default_rng(0).standard_normal((64, 512)).astype(np.float32)
    report = check_backward(model, x, samples=8)
    assert report.passed
    assert all(t.checked <= 8 for m in report.modules for t in m.tensors)


def test_the_model_and_the_random_generator_are_left_alone():
    sa.manual_seed(3)
    model = sa.Sequential(sa.Linear(8, 8), sa.BatchNorm1d(8), sa.Dropout(0.5), sa.Linear(8, 3))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    grads = [p.grad.copy() for p in model.parameters()]
    rng = get_rng_state()
    check_backward(model, np.ones((4, 8), np.float32))
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert all(np.array_equal(g, p.grad) for g, p in zip(grads, model.parameters(), strict=True))
    assert get_rng_state() == rng
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_a_failing_child_is_named_not_its_container():
    class Net(sa.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Scaled(2.0, -2.0)

        def forward(self, x: np.ndarray) -> np.ndarray:
            return self.inner(x)

        def backward(self, grad_output: np.ndarray) -> np.ndarray:
            return self.inner.backward(grad_output)

    report = check_backward(Net(), np.ones((3, 4)))
    assert [m.path for m in report.failed] == ["inner"]
    assert "wrong sign" in report.failed[0].problems[0]
    root = next(m for m in report.modules if m.path == "")
    assert root.skipped == "its sub-module 'inner' fails"


def test_paths_choose_the_modules():
    model = sa.Sequential(sa.Linear(4, 4), sa.ReLU(), sa.Linear(4, 2))
    assert [m.path for m in check_backward(model, np.ones((2, 4)), ["2"]).modules] == ["2"]


class Constant(sa.Module):
    """Its output does not depend on its input, but its backward passes a gradient through."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.ones_like(x)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output


class Float32Inside(sa.Module):
    """Computes in float32 whatever it is given: finite differences would be noise."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return (2.0 * x).astype(np.float32)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return 2.0 * grad_output


def test_a_gradient_where_the_output_does_not_depend_on_the_input():
    [problem] = report_for(Constant())
    assert problem == "input gradient is nonzero although the output does not depend on it"


def test_a_module_computing_in_float32_is_skipped_not_failed():
    model = sa.Sequential(sa.Linear(8, 8), Float32Inside(), sa.Linear(8, 3))
    report = check_backward(model, np.ones((4, 8), np.float32))
    [check] = [m for m in report.modules if m.path == "1"]
    assert check.passed and "float32" in check.skipped


class GlobalDropout(sa.Module):
    """A correct Dropout as learners write it: the mask from NumPy's global generator."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        mask = (np.random.rand(*x.shape) > 0.3) / 0.7
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        (mask,) = self.saved_for_backward()
        return grad_output * mask


def test_a_dropout_drawing_from_numpys_global_generator_passes_and_it_is_left_alone():
    """Every evaluation of the check sees the same draws, from whichever generator the
    user's code uses; the generators are as they were afterwards."""
    np.random.seed(5)
    numpy_before, python_before = np.random.get_state(), random.getstate()
    assert report_for(GlobalDropout()) == []
    after = np.random.get_state()
    assert after[0] == numpy_before[0] and np.array_equal(after[1], numpy_before[1])
    assert after[2:] == numpy_before[2:] and random.getstate() == python_before


class KeepsItsInput(sa.Module):
    """``self.x = x`` in forward: right as long as the model calls it once per forward."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return 2 * self.x * grad_output


def test_state_kept_on_a_module_called_once_is_not_a_failure():
    """The two-call test runs only for modules the model calls more than once: a learner's
    module that keeps its input on self trains correctly when called once."""
    assert report_for(KeepsItsInput()) == []
    twice = sa.Sequential(sa.Linear(8, 8), KeepsItsInput(), sa.Linear(8, 8))

    class Twice(sa.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = twice

        def forward(self, x):
            return self.inner[1](self.inner(x))

        def backward(self, grad_output):
            return self.inner.backward(self.inner[1].backward(grad_output))

    x = np.random.default_rng(1).standard_normal((6, 8)).astype(np.float32)
    [check] = [m for m in check_backward(Twice(), x).modules if m.path == "inner.1"]
    assert any("called twice in one forward" in p for p in check.problems)
