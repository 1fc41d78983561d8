"""BatchNorm1d: normalise each feature over the batch, then scale and shift.

Parameters ``gamma`` (scale) and ``beta`` (shift) are trained; buffers ``running_mean`` and
``running_var`` are not: they are updated in train mode and used in eval mode, as in PyTorch.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

from .errors import ShapeError
from .module import Module
from .parameter import Parameter


class BatchNorm1d(Module):
    """``y = (x - mean) / sqrt(var + eps) * gamma + beta`` per feature.

    Train mode uses the batch's mean and (biased) variance and updates the running statistics in
    place: ``running = (1 - momentum) * running + momentum * batch_stat``, with the *unbiased*
    batch variance for ``running_var`` (PyTorch's rule). Eval mode uses the running statistics.

    Args:
        num_features: features per example (the second axis of the input).
        eps: added to the variance before the square root.
        momentum: weight of the newest batch in the running statistics, in [0, 1].
        dtype: dtype of the parameters and buffers.
    """

    formula = "(x − mean) / sqrt(var + eps) · gamma + beta"

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype: DTypeLike = np.float32,
    ) -> None:
        super().__init__()
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d momentum must be in [0, 1], got {momentum}")
        self.num_features = num_features
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.gamma = Parameter(np.ones(num_features, dtype))
        self.beta = Parameter(np.zeros(num_features, dtype))
        self.register_buffer("running_mean", np.zeros(num_features, dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype))

    def _check_parameter(self, name: str, param: Parameter) -> None:
        expected = (self.num_features,)
        if name in ("gamma", "beta") and param.shape != expected:
            raise ShapeError(
                f"BatchNorm1d({self.num_features}).{name} must have shape {expected}, "
                f"got {param.shape}: a wrong shape would broadcast silently",
                self,
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (batch, num_features) -> (batch, num_features)."""
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ShapeError(f"expected input of shape (batch, {self.num_features}), got {x.shape}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ShapeError(
                    f"expected a batch of at least 2 in train mode (the batch variance of one "
                    f"example is 0), got input of shape {x.shape}; call .eval() to normalise "
                    "with the running statistics"
                )
            # sum() * (1/n) rather than mean(): about half the cost on the lesson's small batches.
            inv_n = 1.0 / n
            mean = x.sum(axis=0) * inv_n
            centred = x - mean
            var = (centred * centred).sum(axis=0) * inv_n  # biased: what the forward divides by
            inv_std = 1.0 / np.sqrt(var + self.eps)
            x_hat = centred
            x_hat *= inv_std
            # In place: the buffers stay the very arrays that state_dict() and observers hold.
            m = self.momentum
            running_mean = self.running_mean
            running_mean *= 1.0 - m
            running_mean += m * mean
            running_var = self.running_var
            running_var *= 1.0 - m
            running_var += (m * n / (n - 1)) * var
        else:
            inv_std = 1.0 / np.sqrt(self.running_var + self.eps)
            x_hat = x - self.running_mean
            x_hat *= inv_std
        self.save_for_backward(x_hat, inv_std, self.training)
        out = x_hat * self.gamma.data
        out += self.beta.data
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """grad_output: (batch, num_features) -> grad wrt x: (batch, num_features).

        Train mode: the batch mean and variance depend on x, so
        ``dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))``
        with ``dx_hat = grad_output * gamma`` (means over the batch). Eval mode: the statistics
        are constants and ``dx = dx_hat * inv_std``.
        """
        x_hat, inv_std, training = self.saved_for_backward()
        self.gamma.accumulate_grad((grad_output * x_hat).sum(axis=0))
        self.beta.accumulate_grad(grad_output.sum(axis=0))
        d_x_hat = grad_output * self.gamma.data
        if not training:
            d_x_hat *= inv_std
            return d_x_hat
        inv_n = 1.0 / grad_output.shape[0]
        grad_input = d_x_hat - d_x_hat.sum(axis=0) * inv_n
        grad_input -= x_hat * ((d_x_hat * x_hat).sum(axis=0) * inv_n)
        grad_input *= inv_std
        return grad_input

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
