"""A learner's batch norm that never updates its running statistics: eval mode normalises
with mean 0 and variance 1 forever."""

import numpy as np
from learner_setup import experiment

import scratchai as sa
from scratchai.engine import Experiment


class MyBatchNorm(sa.Module):
    def __init__(self, features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = sa.Parameter(np.ones(features, np.float32))
        self.beta = sa.Parameter(np.zeros(features, np.float32))
        self.register_buffer("running_mean", np.zeros(features, np.float32))
        self.register_buffer("running_var", np.ones(features, np.float32))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)  # BUG: the running statistics stay put
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self.save_for_backward(x_hat, inv_std, self.training)
        return x_hat * self.gamma.data + self.beta.data

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        x_hat, inv_std, training = self.saved_for_backward()
        self.gamma.accumulate_grad((grad_output * x_hat).sum(axis=0))
        self.beta.accumulate_grad(grad_output.sum(axis=0))
        d = grad_output * self.gamma.data
        if not training:
            return d * inv_std
        return inv_std * (d - d.mean(axis=0) - x_hat * (d * x_hat).mean(axis=0))


def build() -> Experiment:
    model = sa.Sequential(sa.Linear(32, 64), MyBatchNorm(64), sa.ReLU(), sa.Linear(64, 10))
    return experiment(model, "frozen-batchnorm", scale=4.0)
