"""Layers with parameters or modes: Linear, Identity, Dropout. Backward sits next to forward."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import DTypeLike

from . import init
from .errors import ShapeError
from .module import Module
from .parameter import Parameter
from .random import get_rng


class Linear(Module):
    """``y = x @ W + b`` with ``W: (in_features, out_features)`` and ``b: (out_features,)``.

    Initialised like PyTorch's Linear: W and b uniform in ±1/sqrt(in_features).
    """

    formula = "X @ W + b"

    W: Parameter
    b: Parameter | None

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: DTypeLike = np.float32
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        bound = 1.0 / math.sqrt(in_features)
        self.W = Parameter(np.empty((in_features, out_features), dtype))
        init.uniform_(self.W, -bound, bound)
        if bias:
            self.b = Parameter(np.empty(out_features, dtype))
            init.uniform_(self.b, -bound, bound)
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
            raise ShapeError(f"expected input of shape (batch, {self.in_features}), got {x.shape}")
        self.save_for_backward(x)
        out = x @ self.W.data
        if self.b is not None:
            out += self.b.data
        return out

    accepts_input_grad = True

    def backward(self, grad_output: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """grad_output: (batch, out_features) -> grad wrt x: (batch, in_features).

        ``input_grad=False`` skips the gradient wrt x (returns None): nothing needs it when x is
        the data, and it is a third of the layer's backward work.
        """
        (x,) = self.saved_for_backward()
        self.W.accumulate_grad(x.T @ grad_output)
        if self.b is not None:
            self.b.accumulate_grad(grad_output.sum(axis=0))
        return grad_output @ self.W.data.T if input_grad else None

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.b is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to switch a layer off)."""

    formula = "x"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape -> the same array."""
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: any shape -> the same array."""
        return grad_output


class Dropout(Module):
    """Inverted dropout: in train mode each element is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)``, so eval mode (and ``p == 0``) is the identity.

    The mask comes from the library's generator (``scratchai.manual_seed``).
    """

    formula = "x · mask / (1 − p)"  # mask: 1 with probability 1 − p (train mode)

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape, e.g. (batch, features) -> same shape and dtype."""
        if not self.training or self.p == 0.0:
            self.save_for_backward(None)
            return x
        # The mask holds 0 or 1/(1-p) in x's dtype, so the product keeps float32 float32.
        mask = (get_rng().random(x.shape, dtype=np.float32) >= self.p).astype(x.dtype)
        mask *= 1.0 / (1.0 - self.p)
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: the output's shape -> grad wrt x: ``grad_output * mask``."""
        (mask,) = self.saved_for_backward()
        return grad_output if mask is None else grad_output * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"
