"""The lesson's mistakes become clear errors naming the module path, the shapes and the producer."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import scratchai as sa
from scratchai import CrossEntropyLoss, Linear, Module, Parameter, ReLU, Sequential, ShapeError


def _batch() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((32, 128)).astype(np.float32)


def test_lesson_crash_names_path_expected_actual_and_producer() -> None:
    model = Sequential(Linear(128, 64), ReLU(), Linear(32, 10))
    with pytest.raises(ShapeError) as info:
        model(_batch())
    err = info.value
    message = str(err)
    assert "'2'" in message and "Linear(in_features=32" in message
    assert "(batch, 32)" in message
    assert "(32, 64)" in message
    assert "produced by module '1' (ReLU())" in message
    assert err.path == "2"
    assert err.module is model[2] and err.producer is model[1]


def test_lesson_crash_with_named_children() -> None:
    model = Sequential(
        OrderedDict([("fc1", Linear(128, 64)), ("act", ReLU()), ("fc2", Linear(32, 10))])
    )
    with pytest.raises(ShapeError) as info:
        model(_batch())
    message = str(info.value)
    assert "'fc2'" in message and "(batch, 32)" in message and "(32, 64)" in message
    assert "produced by module 'act'" in message
    assert info.value.path == "fc2"


def test_crash_in_nested_custom_module_names_dotted_path() -> None:
    class Net(Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = Sequential(Linear(128, 64), ReLU())
            self.head = Linear(32, 10)

        def forward(self, x: np.ndarray) -> np.ndarray:
            return self.head(self.body(x))

    with pytest.raises(ShapeError) as info:
        Net()(_batch())
    message = str(info.value)
    assert "'head'" in message and "(32, 64)" in message
    assert "produced by module 'body'" in message


def test_wrong_input_from_the_caller_says_so() -> None:
    model = Sequential(Linear(128, 64), ReLU())
    with pytest.raises(ShapeError, match=r"'0'.*\(batch, 128\), got \(32, 100\).*caller's input"):
        model(np.zeros((32, 100), np.float32))


def test_silent_bias_bug_is_refused() -> None:
    layer = Linear(128, 64)
    with pytest.raises(ShapeError, match=r"b must have shape \(64,\), got \(1,\)"):
        layer.b = Parameter(np.zeros(1, np.float32))
    assert layer.b.shape == (64,)


def test_wrong_weight_is_refused() -> None:
    layer = Linear(128, 64)
    with pytest.raises(ShapeError, match=r"W must have shape \(128, 64\), got \(64, 128\)"):
        layer.W = Parameter(np.zeros((64, 128), np.float32))
    with pytest.raises(ShapeError, match=r"W must have shape \(128, 64\), got \(32, 10\)"):
        layer.W = Parameter(np.zeros((32, 10), np.float32))


def test_tying_incompatible_weights_is_refused() -> None:
    a, b = Linear(4, 8), Linear(8, 4)
    with pytest.raises(ShapeError, match=r"\(8, 4\), got \(4, 8\)"):
        b.W = a.W


def test_cross_entropy_bad_targets_are_clear() -> None:
    logits = np.zeros((4, 10), np.float32)
    crit = CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"index 2 is 10, outside the valid class range \[0, 10\)"):
        crit(logits, np.array([0, 1, 10, 3]))
    with pytest.raises(ValueError, match="index 0 is -1"):
        crit(logits, np.array([-1, 1, 2, 3]))
    with pytest.raises(ValueError, match="integer class indices"):
        crit(logits, np.array([0.0, 1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"\(4,\).*got \(3,\)"):
        crit(logits, np.array([0, 1, 2]))


def test_float32_model_keeps_float32_through_a_training_step() -> None:
    sa.manual_seed(0)
    model = Sequential(Linear(128, 64), ReLU(), Linear(64, 10))
    crit = CrossEntropyLoss()
    x = _batch()
    logits = model(x)
    assert logits.dtype == np.float32
    crit(logits, np.arange(32) % 10)
    dlogits = crit.backward()
    assert dlogits.dtype == np.float32
    assert model.backward(dlogits).dtype == np.float32
    for p in model.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32


def test_float64_input_leaves_float32_parameters_and_grads() -> None:
    sa.manual_seed(0)
    model = Sequential(Linear(128, 64), ReLU(), Linear(64, 10))
    crit = CrossEntropyLoss()
    logits = model(_batch().astype(np.float64))
    crit(logits, np.arange(32) % 10)
    model.backward(crit.backward())
    for p in model.parameters():
        assert p.data.dtype == np.float32 and p.grad.dtype == np.float32


def test_backward_without_forward_is_clear() -> None:
    with pytest.raises(RuntimeError, match=r"ReLU.backward\(\) has no saved forward"):
        ReLU().backward(np.ones((2, 2)))
