"""A forward or backward that returns None is named at its module, with or without the debugger."""

from __future__ import annotations

import numpy as np
import pytest

import scratchai as sa


class NoReturnBackward(sa.Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_output: np.ndarray) -> None:
        pass


class NoReturnForward(sa.Module):
    def forward(self, x: np.ndarray) -> None:
        pass


def test_backward_returning_none_is_named_by_path():
    model = sa.Sequential(sa.Linear(3, 3), sa.Sequential(NoReturnBackward()), sa.Linear(3, 2))
    model(np.ones((2, 3), np.float32))
    with pytest.raises(sa.ReturnError, match=r"in module '1\.0' \(NoReturnBackward\(\)\)"):
        model.backward(np.ones((2, 2), np.float32))


def test_forward_returning_none_is_named_by_path():
    model = sa.Sequential(sa.Linear(3, 3), NoReturnForward())
    with pytest.raises(sa.ReturnError, match=r"in module '1' .*forward returned None"):
        model(np.ones((2, 3), np.float32))


def test_none_is_allowed_when_no_input_gradient_was_asked_for():
    model = sa.Sequential(sa.Linear(3, 2))
    model(np.ones((2, 3), np.float32))
    assert model.backward(np.ones((2, 2), np.float32), input_grad=False) is None
