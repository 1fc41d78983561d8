"""Regression, found by widening the failed-load property in tests/properties: a cast that
fails while loading must fail before any array is written. ``load_state_dict`` used to check
dtype kind and shape only and then cast while copying, so complex values (a ComplexWarning
turned into an error) or a float64 value beyond float32's range (under
``np.errstate(over="raise")``) raised half-way through a load, leaving earlier keys loaded."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import scratchai as sa


def _model_and_state() -> tuple[sa.Module, dict[str, np.ndarray], dict[str, np.ndarray]]:
    model = sa.Sequential(sa.Linear(2, 2), sa.ReLU(), sa.Linear(2, 2))
    before = {key: value.copy() for key, value in model.state_dict().items()}
    state = {key: (value + 1.0).astype(np.float64) for key, value in before.items()}
    return model, before, state


def _unchanged(model: sa.Module, before: dict[str, np.ndarray]) -> bool:
    return all(np.array_equal(value, before[key]) for key, value in model.state_dict().items())


def test_complex_values_are_refused_before_anything_is_written() -> None:
    model, before, state = _model_and_state()
    state["2.b"] = state["2.b"].astype(np.complex128) + 1j
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(sa.StateDictError, match=r"'2\.b': complex values"):
            model.load_state_dict(state)
    assert _unchanged(model, before)


@pytest.mark.parametrize("errstate", ["ignore", "raise"])
def test_a_value_too_large_for_the_dtype_is_refused_before_anything_is_written(
    errstate: str,
) -> None:
    model, before, state = _model_and_state()
    state["2.b"][1] = 1e300  # finite in float64, inf in float32
    with np.errstate(all=errstate), pytest.raises(sa.StateDictError, match=r"'2\.b': .*float32"):
        model.load_state_dict(state)
    assert _unchanged(model, before)


def test_values_that_fit_still_load_in_place_across_dtypes() -> None:
    model, _, state = _model_and_state()
    state["0.W"][0, 0] = np.inf  # loaded as it is when asked for (refused by default)
    arrays = model.state_dict()
    with np.errstate(all="raise"):
        model.load_state_dict(state, allow_nonfinite=True)
    after = model.state_dict()
    assert all(after[key] is arrays[key] and after[key].dtype == np.float32 for key in after)
    assert np.isinf(after["0.W"][0, 0]) and after["2.b"][0] == np.float32(state["2.b"][0])
