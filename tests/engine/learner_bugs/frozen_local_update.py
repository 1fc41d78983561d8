"""A learner's batch norm that computes the new running statistics into local names: the
buffers never change."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class Norm(sa.Module):
    def __init__(self, width: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.scale = sa.Parameter(np.ones(width, np.float32))
        self.shift = sa.Parameter(np.zeros(width, np.float32))
        self.register_buffer("mean", np.zeros(width, np.float32))
        self.register_buffer("var", np.ones(width, np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            mu, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            running_mean = (1 - m) * self.mean + m * mu  # BUG: a new local array, never stored
            running_var = (1 - m) * self.var + m * var  # noqa: F841
            del running_mean
        else:
            mu, var = self.mean, self.var
        inv_std = 1.0 / np.sqrt(var + 1e-5)
        x_hat = (x - mu) * inv_std
        self.save_for_backward(x_hat, inv_std, self.training)
        return x_hat * self.scale.data + self.shift.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std, training = self.saved_for_backward()
        self.scale.accumulate_grad((grad_output * x_hat).sum(axis=0))
        self.shift.accumulate_grad(grad_output.sum(axis=0))
        d = grad_output * self.scale.data
        if not training:
            return d * inv_std
        return inv_std * (d - d.mean(axis=0) - x_hat * (d * x_hat).mean(axis=0))


class Deep(sa.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = sa.ModuleList(
            [sa.Linear(32, 48), Norm(48), sa.Tanh(), sa.Linear(48, 48), Norm(48), sa.Tanh()]
        )
        self.head = sa.Linear(48, 10)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer(x)
        return self.head(x)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        grad = self.head.backward(grad)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


def build() -> Experiment:
    return experiment(Deep(), "frozen-local-update", scale=3.0)
