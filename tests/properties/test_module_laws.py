"""The module system's laws, stated as properties over random shapes, trees and values.

- gradcheck passes for any MLP shape and activation (float64);
- ``state_dict`` -> ``load_state_dict`` (and through a file) is exact and keeps ties;
- a shared parameter is counted once and stepped once, in any tree;
- cross-entropy stays finite for logits up to +-1e4;
- a failed load leaves every array unchanged.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from trees import build_tree, distinct_parameters, shapes, wirings

import scratchai as sa

ACTIVATIONS = {"relu": sa.ReLU, "tanh": sa.Tanh, "sigmoid": sa.Sigmoid, "identity": sa.Identity}
seeds = st.integers(0, 2**32 - 1)


@given(
    in_features=st.integers(1, 5),
    hidden=st.lists(
        st.tuples(st.integers(1, 5), st.sampled_from(sorted(ACTIVATIONS)), st.booleans()),
        max_size=3,
    ),
    classes=st.integers(2, 4),
    batch=st.integers(3, 6),
    seed=seeds,
)
def test_gradcheck_passes_for_any_mlp(
    in_features: int,
    hidden: list[tuple[int, str, bool]],
    classes: int,
    batch: int,
    seed: int,
) -> None:
    sa.manual_seed(seed)
    layers: list[sa.Module] = []
    width = in_features
    for out, activation, batchnorm in hidden:
        layers.append(sa.Linear(width, out, dtype=np.float64))
        if batchnorm:
            layers.append(sa.BatchNorm1d(out, dtype=np.float64))
        layers.append(ACTIVATIONS[activation]())
        width = out
    model = sa.Sequential(*layers, sa.Linear(width, classes, dtype=np.float64))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, in_features))
    y = rng.integers(0, classes, batch)
    # A ReLU input within a finite-difference step of its kink has no derivative to check.
    with sa.no_grad():
        h = x
        for layer in layers:
            if isinstance(layer, sa.ReLU):
                assume(np.abs(h).min() > 1e-4)
            h = layer(h)
    report = sa.gradcheck(model, x, target=y, loss=sa.CrossEntropyLoss())
    # 1e-4, not the fixed cases' 1e-6: random shapes find badly conditioned spots (saturated
    # sigmoids make every gradient ~1e-3 while the loss stays ~1, BatchNorm over 3 examples
    # divides by a small std) where the finite differences' rounding noise (~1e-10 absolute)
    # reads as 1e-5 relative to gradcheck's floor; a wrong backward is off by ~1.
    assert report.ok(1e-4), str(report)


@given(shape=shapes, wiring=wirings, seed=seeds, other=seeds)
def test_state_dict_round_trip_is_exact_and_keeps_ties(
    shape: object, wiring: list[tuple[int, bool]], seed: int, other: int
) -> None:
    model = build_tree(shape, wiring, seed)
    state = {key: value.copy() for key, value in model.state_dict().items()}
    target = build_tree(shape, wiring, other)  # same structure and ties, other values
    arrays = target.state_dict()
    assert target.load_state_dict(state) == ([], [])
    after = target.state_dict()
    for key in state:
        assert after[key] is arrays[key]  # loaded in place: every alias still one array
        assert np.array_equal(after[key], state[key]) and after[key].dtype == state[key].dtype
    with tempfile.TemporaryDirectory() as tmp:  # and through a checkpoint file
        path = Path(tmp, "model.safetensors")
        sa.save(model, path)
        third = build_tree(shape, wiring, other)
        third.load_state_dict(sa.load(path))
    assert all(np.array_equal(third.state_dict()[k], v) for k, v in state.items())
    assert [id(p) for p in third.parameters()] == [id(p) for p in distinct_parameters(third)]


@given(shape=shapes, wiring=wirings, seed=seeds, lr=st.floats(1e-3, 1.0))
def test_a_shared_parameter_is_counted_and_stepped_once(
    shape: object, wiring: list[tuple[int, bool]], seed: int, lr: float
) -> None:
    model = build_tree(shape, wiring, seed)
    distinct = distinct_parameters(model)
    params = list(model.parameters())
    assert sorted(map(id, params)) == sorted(map(id, distinct))
    assert model.num_parameters() == sum(p.size for p in distinct)
    names = [name for name, _ in model.named_parameters()]
    assert len(names) == len(set(names))
    before = [p.data.copy() for p in params]
    grads = [np.random.default_rng(seed + i).standard_normal(p.shape) for i, p in enumerate(params)]
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    sa.SGD(model.parameters(), lr=lr).step()
    for p, b, g in zip(params, before, grads, strict=True):
        np.testing.assert_allclose(p.data, b - lr * g, rtol=1e-12, atol=1e-12)


@given(
    logits=hnp.arrays(
        st.sampled_from([np.float32, np.float64]),
        st.tuples(st.integers(1, 8), st.integers(1, 10)),
        elements=st.floats(-1e4, 1e4, width=32),
    ),
    seed=seeds,
)
def test_cross_entropy_is_finite_for_large_logits(logits: np.ndarray, seed: int) -> None:
    batch, classes = logits.shape
    targets = np.random.default_rng(seed).integers(0, classes, batch)
    loss_fn = sa.CrossEntropyLoss()
    loss = loss_fn(logits, targets)
    grad = loss_fn.backward()
    assert np.isfinite(loss) and loss >= -1e-6
    assert grad.shape == logits.shape and grad.dtype == logits.dtype
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-5)  # softmax - one_hot


CORRUPTIONS = ["missing", "unexpected", "shape", "dtype", "shape_non_strict", "complex", "overflow"]


@given(
    shape=shapes,
    wiring=wirings,
    seed=seeds,
    corruption=st.sampled_from(CORRUPTIONS),
    pick=st.integers(0, 100),
)
def test_a_failed_load_changes_nothing(
    shape: object, wiring: list[tuple[int, bool]], seed: int, corruption: str, pick: int
) -> None:
    model = build_tree(shape, wiring, seed)
    snapshot = {key: value.copy() for key, value in model.state_dict().items()}
    state = {key: value + 1.0 for key, value in snapshot.items()}  # a partial load would show
    key = sorted(state)[pick % len(state)]
    if corruption == "missing":
        del state[key]
    elif corruption == "unexpected":
        state["not.a.key"] = np.zeros(1)
    elif corruption == "dtype":
        state[key] = np.array(["text"] * state[key].size).reshape(state[key].shape)
    elif corruption == "complex":
        state[key] = state[key] + 1j
    elif corruption == "overflow":  # float32 model, a float64 value beyond float32's range
        model = build_tree(shape, wiring, seed, dtype=np.float32)
        snapshot = {k: v.copy() for k, v in model.state_dict().items()}
        state = {k: v.astype(np.float64) + 1.0 for k, v in snapshot.items()}
        key = sorted(state)[pick % len(state)]
        state[key].flat[0] = 1e300
    else:
        state[key] = np.zeros((*state[key].shape, 1))
    # The strictest settings a caller may use: a warning or a float error while copying
    # would otherwise stop a load half-way.
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        with pytest.raises(sa.StateDictError, match="nothing was changed"):
            model.load_state_dict(state, strict=corruption != "shape_non_strict")
    for name, value in model.state_dict().items():
        assert np.array_equal(value, snapshot[name]), name
