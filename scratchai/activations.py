"""Element-wise activations: ReLU, Tanh, Sigmoid. No parameters; backward sits next to forward.

Each forward keeps only its output for the backward (the derivative of all three can be written
in terms of the output), and keeps the input's dtype.
"""

from __future__ import annotations

import numpy as np

from .module import Module


class ReLU(Module):
    """``max(x, 0)`` element-wise."""

    formula = "max(0, x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape, e.g. (batch, features) -> same shape."""
        out = np.maximum(x, 0)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: the output's shape -> grad wrt x, same shape (0 where x <= 0)."""
        (out,) = self.saved_for_backward()
        return grad_output * (out > 0)  # a bool mask keeps grad_output's dtype


class Tanh(Module):
    """``tanh(x)`` element-wise."""

    formula = "tanh(x)"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape -> same shape, values in (-1, 1)."""
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: the output's shape -> grad wrt x: ``grad_output * (1 - tanh(x)**2)``."""
        (out,) = self.saved_for_backward()
        return grad_output * (1.0 - out * out)


class Sigmoid(Module):
    """``1 / (1 + exp(-x))`` element-wise, computed as ``0.5 * tanh(x / 2) + 0.5``.

    The tanh form never overflows (``exp(-x)`` does for x below about -88 in float32).
    """

    formula = "1 / (1 + exp(−x))"

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: any shape -> same shape, values in [0, 1]."""
        out = np.tanh(x * 0.5)
        out *= 0.5
        out += 0.5
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: the output's shape -> grad wrt x: ``grad_output * s * (1 - s)``."""
        (out,) = self.saved_for_backward()
        return grad_output * (out * (1.0 - out))
