"""In-place initialisers, as in ``torch.nn.init``.

Weights here are stored ``(in_features, out_features)`` (the lesson's ``X @ W + b``), so for a
2-D array ``fan_in = shape[0]`` and ``fan_out = shape[1]``. Values are drawn from the library's
generator (``scratchai.manual_seed``) and written into the existing array, keeping its dtype.
"""

from __future__ import annotations

import math

import numpy as np

from .parameter import Parameter
from .random import get_rng

Tensor = Parameter | np.ndarray


def _array(target: Tensor) -> np.ndarray:
    return target.data if isinstance(target, Parameter) else target


def _fans(array: np.ndarray) -> tuple[int, int]:
    if array.ndim < 2:
        raise ValueError(
            f"fan in/out need an array of at least 2 dimensions, got shape {array.shape}"
        )
    receptive = math.prod(array.shape[2:])
    return array.shape[0] * receptive, array.shape[1] * receptive


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended gain for a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + slope**2))
    raise ValueError(f"unknown nonlinearity '{nonlinearity}'")


def uniform_(target: Tensor, low: float = 0.0, high: float = 1.0) -> Tensor:
    array = _array(target)
    array[...] = get_rng().uniform(low, high, size=array.shape)
    return target


def normal_(target: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    array = _array(target)
    array[...] = get_rng().normal(mean, std, size=array.shape)
    return target


def zeros_(target: Tensor) -> Tensor:
    _array(target)[...] = 0
    return target


def kaiming_uniform_(
    target: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    """Uniform in ±gain·sqrt(3/fan); ``a=sqrt(5)`` gives PyTorch's Linear init ±1/sqrt(fan_in)."""
    fan = _fans(_array(target))[0 if mode == "fan_in" else 1]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(target, -bound, bound)


def kaiming_normal_(
    target: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu"
) -> Tensor:
    fan = _fans(_array(target))[0 if mode == "fan_in" else 1]
    return normal_(target, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan))


def xavier_uniform_(target: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(_array(target))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(target, -bound, bound)


def xavier_normal_(target: Tensor, gain: float = 1.0) -> Tensor:
    fan_in, fan_out = _fans(_array(target))
    return normal_(target, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))
