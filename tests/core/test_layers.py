"""Layers' forward values, modes, buffers and dtypes (gradients: test_gradcheck.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchai as sa
from scratchai import BatchNorm1d, Dropout, Identity, Linear, Parameter, ReLU, Sigmoid, Tanh


def _x(shape=(8, 5), dtype=np.float64, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def test_linear_init_uniform_within_pytorch_bound() -> None:
    sa.manual_seed(0)
    layer = Linear(100, 30)
    bound = 1 / math.sqrt(100)
    assert layer.W.shape == (100, 30) and layer.b.shape == (30,)
    assert np.abs(layer.W.data).max() <= bound and np.abs(layer.b.data).max() <= bound
    assert np.abs(layer.W.data).max() > 0.9 * bound
    assert Linear(3, 2, bias=False).b is None


def test_manual_seed_makes_init_reproducible() -> None:
    sa.manual_seed(3)
    a = Linear(4, 4)
    sa.manual_seed(3)
    b = Linear(4, 4)
    np.testing.assert_array_equal(a.W.data, b.W.data)


def test_activation_values() -> None:
    x = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(ReLU()(x), [[0.0, 0.0, 3.0]])
    np.testing.assert_allclose(Tanh()(x), np.tanh(x))
    np.testing.assert_allclose(Sigmoid()(x), 1 / (1 + np.exp(-x)), rtol=1e-12)


def test_sigmoid_extreme_inputs_do_not_overflow() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Sigmoid()(np.array([-1e4, 1e4], np.float32))
    np.testing.assert_array_equal(out, [0.0, 1.0])


def test_relu_backward_passes_gradient_only_where_output_is_positive() -> None:
    relu = ReLU()
    relu(np.array([[-1.0, 0.0, 2.0]], np.float32))
    grad = relu.backward(np.array([[3.0, 4.0, 5.0]], np.float32))
    np.testing.assert_array_equal(grad, [[0.0, 0.0, 5.0]])
    assert grad.dtype == np.float32


def test_identity_returns_input() -> None:
    x = _x()
    ident = Identity()
    assert ident(x) is x
    assert ident.backward(x) is x


def test_dropout_validates_p() -> None:
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"\[0, 1\)"):
            Dropout(p)


def test_dropout_train_zeroes_and_scales_eval_is_identity() -> None:
    sa.manual_seed(0)
    drop = Dropout(0.25)
    x = np.ones((200, 50), np.float32)
    out = drop(x)
    assert out.dtype == np.float32
    kept = out != 0
    assert 0.70 < kept.mean() < 0.80
    np.testing.assert_allclose(out[kept], 1 / 0.75, rtol=1e-6)
    grad = drop.backward(np.ones_like(x))
    np.testing.assert_array_equal(grad, out)  # d(x * mask)/dx = mask
    drop.eval()
    assert drop(x) is x
    assert drop.backward(x) is x
    assert Dropout(0.0)(x) is x


def test_dropout_mask_reproducible_with_manual_seed() -> None:
    x = np.ones((10, 10))
    sa.manual_seed(5)
    a = Dropout(0.5)(x)
    sa.manual_seed(5)
    b = Dropout(0.5)(x)
    np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- BatchNorm1d


def test_batchnorm_registers_parameters_and_buffers() -> None:
    bn = BatchNorm1d(4)
    assert [n for n, _ in bn.named_parameters()] == ["gamma", "beta"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var"]
    assert list(bn.state_dict()) == ["gamma", "beta", "running_mean", "running_var"]
    np.testing.assert_array_equal(bn.gamma.data, 1.0)
    np.testing.assert_array_equal(bn.running_var, 1.0)
    assert bn.running_mean.dtype == np.float32


def test_batchnorm_train_normalises_and_updates_running_stats_in_place() -> None:
    bn = BatchNorm1d(5, momentum=0.1, dtype=np.float64)
    mean_buf, var_buf = bn.running_mean, bn.running_var
    state = bn.state_dict()
    x = _x((8, 5)) * 3 + 2
    out = bn(x)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5))
    # PyTorch's rule: the running variance uses the unbiased batch variance.
    np.testing.assert_allclose(bn.running_mean, 0.9 * 0 + 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(bn.running_var, 0.9 * 1 + 0.1 * x.var(axis=0, ddof=1))
    assert bn.running_mean is mean_buf and bn.running_var is var_buf
    assert state["running_mean"] is mean_buf
    assert dict(bn.named_buffers())["running_var"] is var_buf


def test_batchnorm_eval_uses_running_stats_and_leaves_them() -> None:
    bn = BatchNorm1d(5, dtype=np.float64)
    bn.running_mean[...] = 1.0
    bn.running_var[...] = 4.0
    bn.gamma.data[...] = 2.0
    bn.beta.data[...] = 0.5
    bn.eval()
    x = _x((3, 5))
    np.testing.assert_allclose(bn(x), (x - 1.0) / np.sqrt(4.0 + 1e-5) * 2.0 + 0.5)
    np.testing.assert_array_equal(bn.running_mean, 1.0)
    one = bn(x[:1])  # a batch of one is fine in eval mode
    assert one.shape == (1, 5)


def test_batchnorm_batch_of_one_in_train_mode_is_clear_error() -> None:
    with pytest.raises(sa.ShapeError, match=r"at least 2 in train mode.*\(1, 4\).*eval"):
        BatchNorm1d(4)(np.ones((1, 4), np.float32))


def test_batchnorm_refuses_wrong_shapes() -> None:
    bn = BatchNorm1d(4)
    with pytest.raises(sa.ShapeError, match=r"expected input of shape \(batch, 4\), got \(2, 3\)"):
        bn(np.ones((2, 3), np.float32))
    with pytest.raises(sa.ShapeError, match=r"gamma must have shape \(4,\), got \(1,\)"):
        bn.gamma = Parameter(np.ones(1, np.float32))
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(4, momentum=2.0)


def test_batchnorm_float32_in_float32_out_and_buffers_stay_float32() -> None:
    bn = BatchNorm1d(5)
    out = bn(_x(dtype=np.float32))
    assert out.dtype == np.float32
    bn(_x())  # float64 input: buffers are updated in place, keeping float32
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    grad = bn.backward(np.ones((8, 5)))
    assert grad.shape == (8, 5)
    assert bn.gamma.grad.dtype == np.float32 and bn.beta.grad.dtype == np.float32


@pytest.mark.parametrize(
    "layer",
    [Linear(5, 3), ReLU(), Tanh(), Sigmoid(), Identity(), Dropout(0.3), BatchNorm1d(5)],
    ids=lambda m: type(m).__name__,
)
def test_float32_preserved_through_forward_and_backward(layer) -> None:
    sa.manual_seed(0)
    x = _x(dtype=np.float32)
    out = layer(x)
    assert out.dtype == np.float32
    grad = layer.backward(np.ones_like(out))
    assert grad.dtype == np.float32
    for p in layer.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32


def test_float64_input_does_not_upcast_float32_model() -> None:
    model = sa.Sequential(Linear(5, 4), BatchNorm1d(4), ReLU(), Linear(4, 2))
    out = model(_x())
    model.backward(np.ones_like(out))
    for name, p in model.named_parameters():
        assert p.data.dtype == np.float32, name
        assert p.grad.dtype == np.float32, name


def test_no_grad_saves_nothing() -> None:
    layer = Linear(3, 2)
    with sa.no_grad():
        layer(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError, match="no saved forward"):
        layer.backward(np.ones((2, 2), np.float32))


def test_a_forward_whose_backward_never_ran_leaves_nothing_for_a_later_one() -> None:
    """The saves of an abandoned forward are dropped when the next forward of the model
    begins: each backward takes back its own forward's values, and only those."""
    model = sa.Sequential(Linear(3, 2))
    x = np.ones((2, 3), np.float32)
    for _ in range(3):  # three forwards, no backward (e.g. evaluation with grad on)
        model(x)
    model.backward(np.ones((2, 2), np.float32))
    with pytest.raises(RuntimeError, match="no saved forward"):
        model.backward(np.ones((2, 2), np.float32))


def test_a_module_called_twice_in_one_forward_keeps_both_saves() -> None:
    """Inside one forward the saves form a stack: the second call's backward runs first."""
    layer = Linear(2, 2)
    twice = sa.Sequential(layer, sa.ReLU(), layer)
    twice(np.ones((1, 2), np.float32))
    twice.backward(np.ones((1, 2), np.float32))  # two saves, two backwards: no error
    with pytest.raises(RuntimeError, match="no saved forward"):
        layer.backward(np.ones((1, 2), np.float32))


def test_backward_can_skip_the_gradient_wrt_the_data():
    """input_grad=False (what a training loop uses: the data needs no gradient) changes nothing
    but the return value."""
    import scratchai as sa

    sa.manual_seed(0)
    model = sa.Sequential(sa.Linear(6, 5), sa.ReLU(), sa.Linear(5, 3))
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    grads = []
    for input_grad in (True, False):
        model.zero_grad()
        out = model(x)
        dx = model.backward(np.ones_like(out), input_grad=input_grad)
        assert (dx is None) is (not input_grad)
        grads.append([p.grad.copy() for p in model.parameters()])
    for full, skipped in zip(*grads, strict=True):
        np.testing.assert_array_equal(full, skipped)
