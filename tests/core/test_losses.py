"""CrossEntropyLoss and MSELoss: values, stability, gradients' shape/dtype, and clear errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import scratchai as sa
from scratchai import CrossEntropyLoss, MSELoss


def _reference_ce(logits: np.ndarray, targets: np.ndarray) -> float:
    logits = logits.astype(np.float64)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(targets)), targets].mean())


def test_cross_entropy_value_and_gradient() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4))
    y = np.array([0, 3, 1, 2, 3, 0])
    crit = CrossEntropyLoss()
    loss = crit(logits, y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(_reference_ce(logits, y), rel=1e-12)
    grad = crit.backward()
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[np.arange(6), y] -= 1
    np.testing.assert_allclose(grad, probs / 6, rtol=1e-12)


def test_cross_entropy_uniform_logits_give_ln_classes() -> None:
    assert CrossEntropyLoss()(np.zeros((5, 10), np.float32), np.arange(5)) == pytest.approx(
        math.log(10), rel=1e-6
    )


def test_cross_entropy_stable_at_1e4() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]], np.float32)
    crit = CrossEntropyLoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        right = crit(logits, np.array([0, 1]))
        grad_right = crit.backward()
        wrong = crit(logits, np.array([1, 0]))
        grad_wrong = crit.backward()
    assert right == 0.0
    assert wrong == pytest.approx(2e4, rel=1e-6)
    assert np.all(np.isfinite(grad_right)) and np.all(np.isfinite(grad_wrong))
    np.testing.assert_allclose(grad_wrong[0], [0.5, -0.5, 0.0])


def test_cross_entropy_grad_keeps_float32() -> None:
    crit = CrossEntropyLoss()
    crit(np.zeros((3, 4), np.float32), np.array([0, 1, 2]))
    assert crit.backward().dtype == np.float32


def test_cross_entropy_backward_scale_argument() -> None:
    crit = CrossEntropyLoss()
    logits = np.random.default_rng(1).standard_normal((3, 4))
    y = np.array([0, 1, 2])
    crit(logits, y)
    g1 = crit.backward()
    crit(logits, y)
    np.testing.assert_allclose(crit.backward(2.0), 2 * g1)


@pytest.mark.parametrize(
    ("targets", "pattern"),
    [
        (np.array([0.0, 1.0, 2.0]), r"integer class indices.*float64"),
        (np.array([0, 3, 1]), r"index 1 is 3, outside the valid class range \[0, 3\)"),
        (np.array([0, 1, -1]), r"index 2 is -1, outside"),
        (np.array([-2, 1, 0], np.int8), r"index 0 is -2, outside"),
        (np.array([0, 5, 9, 1, 1, 2])[::2], r"index 1 is 9, outside"),
        (np.array([0, 7, 1], np.uint16), r"index 1 is 7, outside"),
        (np.array([0, 1]), r"targets of shape \(3,\).*logits of shape \(3, 3\).*got \(2,\)"),
        (np.array([[0, 1, 2]]), r"targets of shape \(3,\).*got \(1, 3\)"),
    ],
    ids=["float", "too-large", "negative", "negative-int8", "strided", "uint16", "batch", "2-d"],
)
def test_cross_entropy_bad_targets(targets: np.ndarray, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        CrossEntropyLoss()(np.zeros((3, 3), np.float32), targets)


def test_cross_entropy_logits_must_be_2d() -> None:
    with pytest.raises(ValueError, match=r"logits of shape \(batch, classes\), got \(5,\)"):
        CrossEntropyLoss()(np.zeros(5, np.float32), np.array([0]))


def test_mse_value_gradient_and_errors() -> None:
    rng = np.random.default_rng(2)
    pred = rng.standard_normal((4, 3)).astype(np.float32)
    target = rng.standard_normal((4, 3))
    crit = MSELoss()
    loss = crit(pred, target)
    assert loss == pytest.approx(float(((pred - target.astype(np.float32)) ** 2).mean()), rel=1e-5)
    grad = crit.backward()
    assert grad.dtype == np.float32 and grad.shape == (4, 3)
    np.testing.assert_allclose(grad, 2 * (pred - target) / 12, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match=r"target of shape \(4, 3\).*got \(4,\)"):
        crit(pred, target[:, 0])


def test_losses_have_no_parameters_and_are_modules() -> None:
    for crit in (CrossEntropyLoss(), MSELoss()):
        assert isinstance(crit, sa.Module)
        assert list(crit.parameters()) == []
        assert repr(crit) == f"{type(crit).__name__}()"


def test_loss_under_no_grad_returns_value() -> None:
    crit = CrossEntropyLoss()
    with sa.no_grad():
        assert crit(np.zeros((2, 2)), np.array([0, 1])) == pytest.approx(math.log(2))
