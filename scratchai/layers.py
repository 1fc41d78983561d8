"""Layers with parameters or modes: Linear, Identity, Dropout. Backward sits next to forward."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from . import init
from .errors import ShapeError
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """``y = x @ W + b`` with ``W: (in_features, out_features)`` and ``b: (out_features,)``.

    Initialised like PyTorch's Linear: W and b uniform in ±1/sqrt(in_features).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: DTypeLike = np.float32
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features)
        self.W = init.uniform_(Parameter(np.empty((in_features, out_features), dtype)), -bound, bound)
        if bias:
            self.b = init.uniform_(Parameter(np.empty(out_features, dtype)), -bound, bound)
        else:
            self.register_parameter("b", None)

    def _check_parameter(self, name: str, param: Parameter) -> None:
        expected = {"W": (self.in_features, self.out_features), "b": (self.out_features,)}
        if name in expected and param.shape != expected[name]:
            raise ShapeError(
                f"Linear({self.in_features}, {self.out_features}).{name} must have shape "
                f"{expected[name]}, got {param.shape}: a wrong shape would broadcast silently",
                self,
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (batch, in_features) -> (batch, out_features)."""
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(
                f"expected input of shape (batch, {self.in_features}), got {x.shape}"
            )
        self.save_for_backward(x)
        out = x @ self.W.data
        if self.b is not None:
            out += self.b.data
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: (batch, out_features) -> grad wrt x: (batch, in_features)."""
        (x,) = self.saved_for_backward()
        self.W.accumulate_grad(x.T @ grad_output)
        if self.b is not None:
            self.b.accumulate_grad(grad_output.sum(axis=0))
        return grad_output @ self.W.data.T

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.b is not None}"
        )
