"""Optimizers: SGD (momentum, Nesterov, L2 weight decay) and Adam, with PyTorch's update rules.

An optimizer holds a deduplicated list of Parameters (a weight tied between two layers is one
Parameter object and is stepped once) and updates each ``p.data`` in place, so the arrays the
model, the state_dict and any tie share stay the same objects. Hyper-parameters are Python
floats, so a float32 parameter stays float32 (NumPy 2 would upcast it for an ``np.float64``).

Typical use, one batch::

    opt = SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    loss = crit(model(x), y)
    model.backward(crit.backward())
    opt.step()
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import numpy as np

from .module import Module
from .parameter import Parameter

__all__ = ["SGD", "Adam", "Optimizer"]


def _unique_parameters(params: Any, owner: str) -> list[Parameter]:
    """The Parameters of ``params`` in order, each object once (dedup by ``id``)."""
    if isinstance(params, Module):
        raise TypeError(
            f"{owner} expects an iterable of Parameters, got the module "
            f"{type(params).__name__}: pass model.parameters()"
        )
    if isinstance(params, Parameter):
        raise TypeError(
            f"{owner} expects an iterable of Parameters, got a single Parameter: pass [param]"
        )
    if not isinstance(params, Iterable):
        raise TypeError(
            f"{owner} expects an iterable of Parameters (e.g. model.parameters()), "
            f"got {type(params).__name__}"
        )
    unique: list[Parameter] = []
    seen: set[int] = set()
    for index, param in enumerate(params):
        if not isinstance(param, Parameter):
            hint = (
                ": wrap arrays in scratchai.Parameter or pass model.parameters()"
                if isinstance(param, np.ndarray)
                else ""
            )
            raise TypeError(
                f"{owner} expects Parameters, got {type(param).__name__} at position {index}{hint}"
            )
        if id(param) not in seen:
            seen.add(id(param))
            unique.append(param)
    if not unique:
        raise ValueError(
            f"{owner} got an empty parameter list: the model has no parameters, or a "
            "parameters() generator was already consumed (call model.parameters() again)"
        )
    return unique


def _number(name: str, value: Any, owner: str) -> float:
    """``value`` as a finite Python float (never an np.float64, which upcasts float32 arrays)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner} {name} must be a number, got {type(value).__name__}")
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{owner} {name} must be finite, got {result}")
    return result


class Optimizer:
    """Base class: a deduplicated parameter list, hyper-parameters, per-parameter state.

    Subclasses list their hyper-parameters in ``_hyperparameter_names`` and the names of their
    per-parameter arrays in ``_state_names``, validate hyper-parameters in
    ``_validate_hyperparameters`` and implement ``step()``.

    Args:
        params: an iterable of Parameters, e.g. ``model.parameters()``. A Parameter that
            appears twice (a tied weight) is kept once.
        defaults: the hyper-parameters, e.g. ``{"lr": 0.1, "momentum": 0.9}``.

    Attributes:
        params: the Parameters, each once, in the order given.
        defaults: the hyper-parameters given at construction (validated).
        step_count: how many times ``step()`` ran.
    """

    _hyperparameter_names: ClassVar[tuple[str, ...]] = ("lr",)
    _state_names: ClassVar[tuple[str, ...]] = ()
    _lr: float

    def __init__(self, params: Iterable[Parameter], defaults: Mapping[str, Any]) -> None:
        name = type(self).__name__
        self.params: list[Parameter] = _unique_parameters(params, name)
        hyper = self._validate_hyperparameters(dict(defaults))
        self.defaults: dict[str, Any] = dict(hyper)
        for key, value in hyper.items():
            setattr(self, key, value)
        self.step_count = 0
        # One list per state name, indexed like ``params`` (no per-step dict lookup per param).
        self._state: dict[str, list[np.ndarray | None]] = {
            key: [None] * len(self.params) for key in self._state_names
        }

    # ------------------------------------------------------------------ hyper-parameters
    @property
    def lr(self) -> float:
        """The learning rate; may be changed between steps (must be a finite number >= 0)."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        lr = _number("lr", value, type(self).__name__)
        if lr < 0.0:
            raise ValueError(f"{type(self).__name__} lr must be >= 0, got {lr}")
        self._lr = lr

    def _validate_hyperparameters(self, hyper: dict[str, Any]) -> dict[str, Any]:
        """Check and normalise ``hyper`` (Python floats/bools); raise on any bad value."""
        name = type(self).__name__
        unknown = sorted(set(hyper) - set(self._hyperparameter_names))
        missing = sorted(set(self._hyperparameter_names) - set(hyper))
        if unknown or missing:
            raise ValueError(
                f"{name} hyper-parameters: unknown {unknown}, missing {missing}; "
                f"expected {list(self._hyperparameter_names)}"
            )
        lr = _number("lr", hyper["lr"], name)
        if lr < 0.0:
            raise ValueError(f"{name} lr must be >= 0, got {lr}")
        hyper["lr"] = lr
        return hyper

    def hyperparameters(self) -> dict[str, Any]:
        """The current hyper-parameters, e.g. ``{"lr": 0.1, "momentum": 0.0, ...}``."""
        return {key: getattr(self, key) for key in self._hyperparameter_names}

    # ------------------------------------------------------------------ stepping
    def step(self) -> None:
        """Update every parameter in place from its ``.grad``."""
        raise NotImplementedError(f"{type(self).__name__} does not define step()")

    def zero_grad(self) -> None:
        """Reset the gradient of every parameter to zero (lazily, see ``Parameter.zero_grad``)."""
        for param in self.params:
            param.zero_grad()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as a plain dict of numbers and arrays.

        Layout::

            {"type": "SGD", "step": 3, "num_params": 4,
             "hyperparameters": {"lr": 0.1, "momentum": 0.9, ...},
             "state": {0: {"momentum_buffer": array}, 1: {...}, ...}}

        ``state`` is keyed by the index of the parameter in ``params``; a parameter without
        state yet (before the first step) has no entry. The arrays are the live buffers, as in
        PyTorch: copy them (``copy.deepcopy``) to keep a snapshot while training goes on.
        """
        state: dict[int, dict[str, np.ndarray]] = {}
        for index in range(len(self.params)):
            entry = {
                key: arrays[index]
                for key, arrays in self._state.items()
                if arrays[index] is not None
            }
            if entry:
                state[index] = entry  # type: ignore[assignment]
        return {
            "type": type(self).__name__,
            "step": self.step_count,
            "num_params": len(self.params),
            "hyperparameters": self.hyperparameters(),
            "state": state,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a ``state_dict()``: hyper-parameters, step count and copies of the buffers.

        All-or-nothing: every problem (wrong optimizer type, parameter count, unknown index or
        buffer name, shape mismatch, bad hyper-parameter) is collected into one ``ValueError``
        and the optimizer is left exactly as it was.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"{name}.load_state_dict expects a dict, got {type(state_dict).__name__}"
            )
        problems: list[str] = []
        expected_keys = {"type", "step", "num_params", "hyperparameters", "state"}
        missing = sorted(expected_keys - set(state_dict))
        unexpected = sorted(str(k) for k in set(state_dict) - expected_keys)
        if missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        if problems:
            raise ValueError(self._refusal(problems))

        if state_dict["type"] != name:
            problems.append(f"state is for a {state_dict['type']} optimizer, not {name}")
        num_params = state_dict["num_params"]
        if num_params != len(self.params):
            problems.append(
                f"state has {num_params} parameters, this optimizer has {len(self.params)}"
            )
        step = state_dict["step"]
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            problems.append(f"step must be an integer >= 0, got {step!r}")
        hyper: dict[str, Any] = {}
        raw_hyper = state_dict["hyperparameters"]
        if not isinstance(raw_hyper, Mapping):
            problems.append(f"hyperparameters must be a dict, got {type(raw_hyper).__name__}")
        else:
            try:
                hyper = self._validate_hyperparameters(dict(raw_hyper))
            except (TypeError, ValueError) as err:
                problems.append(str(err))

        new_state: dict[str, list[np.ndarray | None]] = {
            key: [None] * len(self.params) for key in self._state_names
        }
        raw_state = state_dict["state"]
        if not isinstance(raw_state, Mapping):
            problems.append(f"state must be a dict, got {type(raw_state).__name__}")
            raw_state = {}
        for index, entry in raw_state.items():
            if (
                isinstance(index, bool)
                or not isinstance(index, (int, np.integer))
                or not 0 <= index < len(self.params)
            ):
                problems.append(
                    f"state key {index!r} is not a parameter index in [0, {len(self.params)})"
                )
                continue
            if not isinstance(entry, Mapping):
                problems.append(f"state[{index}] must be a dict, got {type(entry).__name__}")
                continue
            param = self.params[index]
            for key, value in entry.items():
                if key not in new_state:
                    problems.append(
                        f"state[{index}]: unknown buffer '{key}' "
                        f"(expected {list(self._state_names)})"
                    )
                    continue
                arr = np.asarray(value)
                if not np.issubdtype(arr.dtype, np.number):
                    problems.append(
                        f"state[{index}]['{key}']: expected a numeric array, got dtype {arr.dtype}"
                    )
                elif arr.shape != param.shape:
                    problems.append(
                        f"state[{index}]['{key}']: expected shape {param.shape} "
                        f"(parameter {index}), got {arr.shape}"
                    )
                else:
                    new_state[key][int(index)] = np.array(arr, dtype=param.dtype, copy=True)
        if not problems:
            problems.extend(self._check_state(new_state, int(step)))
        if problems:
            raise ValueError(self._refusal(problems))

        for key, value in hyper.items():
            setattr(self, key, value)
        self.step_count = int(step)
        self._state = new_state

    def _check_state(self, state: dict[str, list[np.ndarray | None]], step: int) -> list[str]:
        """Consistency checks of a loaded state beyond shapes (subclasses add theirs)."""
        return []

    def _refusal(self, problems: list[str]) -> str:
        return (
            f"{type(self).__name__}.load_state_dict refused, nothing was changed:\n  "
            + "\n  ".join(problems)
        )

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({len(self.params)} parameters, {hyper})"


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with momentum and L2 weight decay (PyTorch rules).

    For each parameter ``p`` with gradient ``g`` (same shape as ``p``)::

        g = g + weight_decay * p                    # if weight_decay != 0
        buf = g (first step), else momentum * buf + g   # if momentum != 0 (dampening 0)
        g = g + momentum * buf if nesterov else buf     # if momentum != 0
        p = p - lr * g

    Args:
        params: an iterable of Parameters, e.g. ``model.parameters()``.
        lr: learning rate, >= 0.
        momentum: momentum factor, >= 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
        nesterov: Nesterov momentum (needs ``momentum > 0``).
    """

    _hyperparameter_names = ("lr", "momentum", "weight_decay", "nesterov")
    _state_names = ("momentum_buffer",)

    momentum: float
    weight_decay: float
    nesterov: bool

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        super().__init__(
            params,
            {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov},
        )

    def _validate_hyperparameters(self, hyper: dict[str, Any]) -> dict[str, Any]:
        hyper = super()._validate_hyperparameters(hyper)
        momentum = _number("momentum", hyper["momentum"], "SGD")
        weight_decay = _number("weight_decay", hyper["weight_decay"], "SGD")
        if momentum < 0.0:
            raise ValueError(f"SGD momentum must be >= 0, got {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD weight_decay must be >= 0, got {weight_decay}")
        nesterov = hyper["nesterov"]
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD nesterov must be a bool, got {type(nesterov).__name__}")
        if nesterov and momentum <= 0.0:
            raise ValueError("SGD nesterov=True requires momentum > 0")
        hyper.update(momentum=momentum, weight_decay=weight_decay, nesterov=bool(nesterov))
        return hyper

    def step(self) -> None:
        """``p.data -= lr * g`` for every parameter (with momentum / weight decay if set)."""
        lr = self._lr
        momentum = self.momentum
        weight_decay = self.weight_decay
        self.step_count += 1
        if momentum == 0.0 and weight_decay == 0.0:
            # The hot path: one temporary and one in-place subtraction per parameter.
            for p in self.params:
                g = p._grad
                if g is not None:  # None means a zero gradient (lazy zero_grad): no update
                    p._data -= lr * g
            return
        nesterov = self.nesterov
        buffers = self._state["momentum_buffer"]
        for index, p in enumerate(self.params):
            g = p.grad
            d = p._data
            if weight_decay != 0.0:
                g = g + weight_decay * d
            if momentum != 0.0:
                buf = buffers[index]
                if buf is None:
                    buf = buffers[index] = np.array(g, dtype=d.dtype, copy=True)
                else:
                    buf *= momentum
                    buf += g
                g = g + momentum * buf if nesterov else buf
            d -= lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), as ``torch.optim.Adam`` without amsgrad.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (1, 2, ...)::

        g = g + weight_decay * p                       # L2, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g                # m, v start at zero
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: an iterable of Parameters, e.g. ``model.parameters()``.
        lr: learning rate, >= 0.
        betas: decay rates of the first and second moment estimates, each in [0, 1).
        eps: added to the denominator, > 0.
        weight_decay: L2 penalty added to the gradient, >= 0.
    """

    _hyperparameter_names = ("lr", "betas", "eps", "weight_decay")
    _state_names = ("exp_avg", "exp_avg_sq")

    betas: tuple[float, float]
    eps: float
    weight_decay: float

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        )

    def _validate_hyperparameters(self, hyper: dict[str, Any]) -> dict[str, Any]:
        hyper = super()._validate_hyperparameters(hyper)
        betas = hyper["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"Adam betas must be a pair (beta1, beta2), got {betas!r}")
        beta1 = _number("betas[0]", betas[0], "Adam")
        beta2 = _number("betas[1]", betas[1], "Adam")
        for i, beta in enumerate((beta1, beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Adam betas[{i}] must be in [0, 1), got {beta}")
        eps = _number("eps", hyper["eps"], "Adam")
        if eps <= 0.0:
            raise ValueError(f"Adam eps must be > 0, got {eps}")
        weight_decay = _number("weight_decay", hyper["weight_decay"], "Adam")
        if weight_decay < 0.0:
            raise ValueError(f"Adam weight_decay must be >= 0, got {weight_decay}")
        hyper.update(betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
        return hyper

    def _check_state(self, state: dict[str, list[np.ndarray | None]], step: int) -> list[str]:
        # Bias correction uses the global step, so either every parameter has both moments
        # (after a step) or none has (before the first step).
        have = [
            all(state[key][i] is not None for key in self._state_names)
            for i in range(len(self.params))
        ]
        partial = [
            i
            for i in range(len(self.params))
            if not have[i] and any(state[key][i] is not None for key in self._state_names)
        ]
        problems = [f"state[{i}] needs both exp_avg and exp_avg_sq" for i in partial]
        if not problems and step > 0 and not all(have):
            absent = [i for i, ok in enumerate(have) if not ok]
            problems.append(f"step is {step} but parameters {absent} have no Adam moments")
        if not problems and step == 0 and any(have):
            problems.append("step is 0 but the state holds Adam moments")
        return problems

    def step(self) -> None:
        """One Adam update of every parameter, in place."""
        lr = self._lr
        beta1, beta2 = self.betas
        eps = self.eps
        weight_decay = self.weight_decay
        self.step_count += 1
        t = self.step_count
        step_size = lr / (1.0 - beta1**t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**t)
        one_minus_beta1 = 1.0 - beta1
        one_minus_beta2 = 1.0 - beta2
        exp_avgs = self._state["exp_avg"]
        exp_avg_sqs = self._state["exp_avg_sq"]
        for index, p in enumerate(self.params):
            g = p.grad
            d = p._data
            if weight_decay != 0.0:
                g = g + weight_decay * d
            m = exp_avgs[index]
            v = exp_avg_sqs[index]
            if m is None or v is None:
                m = exp_avgs[index] = np.zeros_like(d)
                v = exp_avg_sqs[index] = np.zeros_like(d)
            m *= beta1
            m += one_minus_beta1 * g
            v *= beta2
            v += one_minus_beta2 * (g * g)
            denom = np.sqrt(v)
            denom /= bias_correction2_sqrt
            denom += eps
            update = m / denom
            update *= step_size
            d -= update
