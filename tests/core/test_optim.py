"""Optimizers: update rules written out by hand, dedup of tied weights, dtype, lr, state."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import scratchai as sa
from scratchai import SGD, Adam, Linear, Module, Optimizer, Parameter, Sequential

P0 = np.array([[0.5, -1.0, 2.0], [0.25, 3.0, -0.75]])
GRADS = [
    np.array([[0.1, -0.2, 0.3], [0.0, 1.0, -0.5]]),
    np.array([[-0.4, 0.2, 0.05], [0.3, -1.0, 0.5]]),
    np.array([[0.2, 0.2, -0.1], [0.7, 0.1, 0.0]]),
]


def run(make: type[Optimizer] | object, grads: list[np.ndarray] = GRADS, **kwargs: object):
    """Three steps of an optimizer on a float64 copy of P0; returns the parameter after each."""
    p = Parameter(P0.copy())
    opt = make([p], **kwargs)  # type: ignore[operator]
    out = []
    for g in grads:
        opt.zero_grad()
        p.accumulate_grad(g.copy())
        opt.step()
        out.append(p.data.copy())
    return p, opt, out


# ---------------------------------------------------------------- update rules


def test_sgd_plain_matches_hand_formula() -> None:
    lr = 0.1
    _, _, out = run(SGD, lr=lr)
    p = P0.copy()
    for g, got in zip(GRADS, out, strict=True):
        p = p - lr * g
        np.testing.assert_array_equal(got, p)


def test_sgd_momentum_matches_hand_formula() -> None:
    lr, mu = 0.1, 0.9
    _, _, out = run(SGD, lr=lr, momentum=mu)
    p, buf = P0.copy(), None
    for g, got in zip(GRADS, out, strict=True):
        buf = g.copy() if buf is None else mu * buf + g  # first buffer = first gradient
        p = p - lr * buf
        np.testing.assert_allclose(got, p, rtol=0, atol=1e-15)


def test_sgd_nesterov_matches_hand_formula() -> None:
    lr, mu = 0.05, 0.8
    _, _, out = run(SGD, lr=lr, momentum=mu, nesterov=True)
    p, buf = P0.copy(), None
    for g, got in zip(GRADS, out, strict=True):
        buf = g.copy() if buf is None else mu * buf + g
        p = p - lr * (g + mu * buf)
        np.testing.assert_allclose(got, p, rtol=0, atol=1e-15)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_weight_decay_is_added_to_the_gradient(momentum: float) -> None:
    lr, wd = 0.1, 0.01
    _, _, out = run(SGD, lr=lr, momentum=momentum, weight_decay=wd)
    p, buf = P0.copy(), None
    for g, got in zip(GRADS, out, strict=True):
        d = g + wd * p
        if momentum:
            buf = d.copy() if buf is None else momentum * buf + d
            d = buf
        p = p - lr * d
        np.testing.assert_allclose(got, p, rtol=0, atol=1e-15)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_matches_hand_formula(weight_decay: float) -> None:
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    _, opt, out = run(Adam, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    p = P0.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, (g, got) in enumerate(zip(GRADS, out, strict=True), start=1):
        g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        denom = np.sqrt(v) / math.sqrt(1 - b2**t) + eps
        p = p - lr * m_hat / denom
        np.testing.assert_allclose(got, p, rtol=1e-12, atol=1e-15)
    assert opt.step_count == 3


def test_adam_first_step_moves_each_weight_by_about_lr() -> None:
    # With bias correction the first update is lr * g / (|g| + eps'), i.e. about lr in size.
    _, _, out = run(Adam, grads=GRADS[:1], lr=0.01)
    moved = np.abs(out[0] - P0)
    nonzero = GRADS[0] != 0
    np.testing.assert_allclose(moved[nonzero], 0.01, rtol=1e-5)
    np.testing.assert_array_equal(moved[~nonzero], 0.0)


# ---------------------------------------------------------------- parameters and dedup


class TiedPair(Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = Linear(3, 3)
        self.b = Linear(3, 3)
        self.b.W = self.a.W


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: Adam(ps, lr=0.1)])
def test_tied_weight_is_stepped_once(make) -> None:
    sa.manual_seed(0)
    model = TiedPair()
    W = model.a.W
    before = W.data.copy()
    g = np.full((3, 3), 0.5, np.float32)
    opt = make(model.parameters())
    assert len(opt.params) == 3  # W, a.b, b.b
    # A list naming the tied weight twice is deduplicated too.
    opt2 = make([model.a.W, model.a.b, model.b.W, model.b.b])
    assert len(opt2.params) == 3 and opt2.params[0] is W
    W.zero_grad()
    W.accumulate_grad(g.copy())
    opt.step()
    if isinstance(opt, SGD):
        np.testing.assert_array_equal(W.data, before - np.float32(0.1) * g)
    else:  # Adam's first step moves each element by lr (sign of g)
        np.testing.assert_allclose(W.data, before - 0.1, rtol=0, atol=1e-6)
    assert model.a.W is model.b.W


def test_params_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    model = Sequential(Linear(2, 2))
    gen = model.parameters()
    list(gen)
    with pytest.raises(ValueError, match="already consumed"):
        SGD(gen, lr=0.1)
    with pytest.raises(TypeError, match=r"got the module Sequential: pass model.parameters\(\)"):
        SGD(model, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="single Parameter"):
        SGD(model[0].W, lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="got ndarray at position 1"):
        SGD([model[0].W, np.zeros(2)], lr=0.1)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda ps: SGD(ps, lr=-0.1), "lr must be >= 0"),
        (lambda ps: SGD(ps, lr=float("nan")), "lr must be finite"),
        (lambda ps: SGD(ps, lr="0.1"), "lr must be a number"),
        (lambda ps: SGD(ps, lr=0.1, momentum=-0.5), "momentum must be >= 0"),
        (lambda ps: SGD(ps, lr=0.1, weight_decay=-1), "weight_decay must be >= 0"),
        (lambda ps: SGD(ps, lr=0.1, nesterov=True), "nesterov=True requires momentum > 0"),
        (lambda ps: Adam(ps, betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\)"),
        (lambda ps: Adam(ps, betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\)"),
        (lambda ps: Adam(ps, betas=(0.9,)), "betas must be a pair"),
        (lambda ps: Adam(ps, eps=0.0), "eps must be > 0"),
        (lambda ps: Adam(ps, lr=-1e-3), "lr must be >= 0"),
    ],
)
def test_hyperparameters_are_validated(make, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        make([Parameter(np.zeros(2))])


# ---------------------------------------------------------------- dtype, lr, zero_grad


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=np.float64(0.1)),
        lambda ps: SGD(ps, lr=0.1, momentum=np.float64(0.9), weight_decay=1e-4),
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        lambda ps: Adam(ps, lr=np.float64(1e-3), betas=(np.float64(0.9), 0.999), weight_decay=0.1),
    ],
)
def test_float32_stays_float32(make) -> None:
    p = Parameter(np.ones((4, 3), np.float32))
    data = p.data
    opt = make([p])
    for _ in range(3):
        p.zero_grad()
        p.accumulate_grad(np.full((4, 3), 0.25, np.float32))
        opt.step()
    assert p.data is data  # updated in place, never rebound
    assert p.data.dtype == np.float32
    for entry in opt.state_dict()["state"].values():
        assert all(arr.dtype == np.float32 for arr in entry.values())
    assert isinstance(opt.lr, float) and type(opt.lr) is float


def test_lr_change_between_steps_takes_effect() -> None:
    p = Parameter(np.zeros(3))
    opt = SGD([p], lr=0.1)
    p.accumulate_grad(np.ones(3))
    opt.step()
    np.testing.assert_array_equal(p.data, -0.1)
    opt.lr = 0.5
    opt.step()  # same gradient again (not zeroed)
    np.testing.assert_array_equal(p.data, -0.6)
    assert opt.state_dict()["hyperparameters"]["lr"] == 0.5
    for bad, match in [(-1.0, ">= 0"), (float("inf"), "finite"), (None, "a number")]:
        with pytest.raises((ValueError, TypeError), match=match):
            opt.lr = bad  # type: ignore[assignment]
    assert opt.lr == 0.5


def test_zero_grad_and_lazily_zero_gradient() -> None:
    p = Parameter(np.ones(3, np.float32))
    opt = SGD([p], lr=0.1)
    p.accumulate_grad(np.ones(3, np.float32))
    opt.zero_grad()
    np.testing.assert_array_equal(p.grad, 0.0)
    p.zero_grad()
    opt.step()  # a zero gradient moves nothing
    np.testing.assert_array_equal(p.data, 1.0)
    # With momentum a zero gradient still applies the buffer (PyTorch for a zero grad).
    opt = SGD([p], lr=0.1, momentum=0.5)
    p.accumulate_grad(np.ones(3, np.float32))
    opt.step()
    p.zero_grad()
    opt.step()
    np.testing.assert_allclose(p.data, 1.0 - 0.1 - 0.05, rtol=1e-6)


def test_sgd_trains_a_tiny_regression() -> None:
    sa.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = Linear(3, 1)
    crit = sa.MSELoss()
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(200):
        opt.zero_grad()
        loss = crit(model(x), y)
        model.backward(crit.backward())
        opt.step()
    assert float(loss) < 1e-4


# ---------------------------------------------------------------- state_dict


def _two_layer_params(seed: int) -> list[Parameter]:
    rng = np.random.default_rng(seed)
    return [
        Parameter(rng.standard_normal((3, 2)).astype(np.float32)),
        Parameter(rng.standard_normal(2).astype(np.float32)),
    ]


def _grads(step: int) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + step)
    return [
        rng.standard_normal((3, 2)).astype(np.float32),
        rng.standard_normal(2).astype(np.float32),
    ]


def _step(opt: Optimizer, params: list[Parameter], step: int) -> None:
    opt.zero_grad()
    for p, g in zip(params, _grads(step), strict=True):
        p.accumulate_grad(g)
    opt.step()


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.01, weight_decay=0.01),
    ],
)
def test_state_dict_round_trip_reproduces_later_steps_bit_for_bit(make) -> None:
    params = _two_layer_params(0)
    opt = make(params)
    for step in range(2):
        _step(opt, params, step)
    saved_state = copy.deepcopy(opt.state_dict())
    saved_params = [p.data.copy() for p in params]
    for step in range(2, 5):
        _step(opt, params, step)
    expected = [p.data.copy() for p in params]

    fresh = [Parameter(a.copy()) for a in saved_params]
    opt2 = make(fresh)
    opt2.lr = 123.0  # overwritten by the loaded hyper-parameters
    opt2.load_state_dict(saved_state)
    assert opt2.step_count == 2 and opt2.lr == opt.lr
    for step in range(2, 5):
        _step(opt2, fresh, step)
    for got, want in zip(fresh, expected, strict=True):
        np.testing.assert_array_equal(got.data, want)


def test_state_dict_layout_and_loaded_arrays_are_copies() -> None:
    params = _two_layer_params(0)
    opt = SGD(params, lr=0.1, momentum=0.9)
    sd = opt.state_dict()
    assert sd == {
        "type": "SGD",
        "step": 0,
        "num_params": 2,
        "hyperparameters": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.0, "nesterov": False},
        "state": {},
    }
    _step(opt, params, 0)
    sd = copy.deepcopy(opt.state_dict())
    assert sorted(sd["state"]) == [0, 1]
    assert set(sd["state"][0]) == {"momentum_buffer"}
    opt.load_state_dict(sd)
    sd["state"][0]["momentum_buffer"][...] = 99.0  # the optimizer kept its own copy
    assert not np.any(opt.state_dict()["state"][0]["momentum_buffer"] == 99.0)

    adam = Adam(params)
    _step(adam, params, 0)
    assert set(adam.state_dict()["state"][1]) == {"exp_avg", "exp_avg_sq"}
    assert adam.state_dict()["hyperparameters"]["betas"] == (0.9, 0.999)


def _mutations():
    def wrong_shape(sd):
        sd["state"][1]["momentum_buffer"] = np.zeros(3, np.float32)

    def wrong_count(sd):
        sd["num_params"] = 3

    def wrong_type(sd):
        sd["type"] = "Adam"

    def bad_lr(sd):
        sd["hyperparameters"]["lr"] = -1.0

    def bad_index(sd):
        sd["state"][7] = {"momentum_buffer": np.zeros(2, np.float32)}

    def unknown_buffer(sd):
        sd["state"][0]["exp_avg"] = np.zeros((3, 2), np.float32)

    def missing_key(sd):
        del sd["step"]

    return [
        (wrong_shape, r"state\[1\]\['momentum_buffer'\]: expected shape \(2,\)"),
        (wrong_count, "state has 3 parameters, this optimizer has 2"),
        (wrong_type, "state is for a Adam optimizer, not SGD"),
        (bad_lr, "lr must be >= 0"),
        (bad_index, r"state key 7 is not a parameter index in \[0, 2\)"),
        (unknown_buffer, "unknown buffer 'exp_avg'"),
        (missing_key, "missing keys: step"),
    ]


@pytest.mark.parametrize(("mutate", "match"), _mutations())
def test_bad_load_raises_and_leaves_optimizer_unchanged(mutate, match: str) -> None:
    params = _two_layer_params(0)
    opt = SGD(params, lr=0.1, momentum=0.9)
    _step(opt, params, 0)
    before = copy.deepcopy(opt.state_dict())
    good = copy.deepcopy(before)
    good["hyperparameters"]["lr"] = 0.5
    good["step"] = 10
    good["state"][0]["momentum_buffer"] = good["state"][0]["momentum_buffer"] + 1.0
    mutate(good)
    with pytest.raises(ValueError, match=match) as info:
        opt.load_state_dict(good)
    assert "nothing was changed" in str(info.value)
    after = opt.state_dict()
    assert after["step"] == before["step"] and after["hyperparameters"] == before["hyperparameters"]
    for index, entry in before["state"].items():
        np.testing.assert_array_equal(
            after["state"][index]["momentum_buffer"], entry["momentum_buffer"]
        )


def test_adam_load_refuses_inconsistent_moments() -> None:
    params = _two_layer_params(0)
    opt = Adam(params)
    _step(opt, params, 0)
    sd = copy.deepcopy(opt.state_dict())
    del sd["state"][1]
    with pytest.raises(ValueError, match=r"parameters \[1\] have no Adam moments"):
        opt.load_state_dict(sd)
    sd = copy.deepcopy(opt.state_dict())
    del sd["state"][0]["exp_avg_sq"]
    with pytest.raises(ValueError, match="needs both exp_avg and exp_avg_sq"):
        opt.load_state_dict(sd)
    assert opt.step_count == 1


def test_repr_names_type_count_and_hyperparameters() -> None:
    opt = SGD(_two_layer_params(0), lr=0.1)
    assert repr(opt) == "SGD(2 parameters, lr=0.1, momentum=0.0, weight_decay=0.0, nesterov=False)"
