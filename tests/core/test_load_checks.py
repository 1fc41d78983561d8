"""load_state_dict checks every value completely before it writes anything."""

from __future__ import annotations

import numpy as np
import pytest

import scratchai as sa
from scratchai.errors import StateDictError


def _model() -> sa.Module:
    sa.manual_seed(0)
    return sa.Sequential(sa.Linear(3, 2), sa.ReLU(), sa.Linear(2, 2))


def _values(model: sa.Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


def _refused(model: sa.Module, state: dict, match: str, **kwargs) -> None:
    before = _values(model)
    with pytest.raises(StateDictError, match=match):
        model.load_state_dict(state, **kwargs)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
        assert value.dtype == np.float32


def test_overflow_is_refused_before_anything_is_written_even_under_errstate_raise() -> None:
    model = _model()
    state = {k: v.astype(np.float64) + 1.0 for k, v in model.state_dict().items()}
    state["2.W"][0, 0] = 1e300  # the last key: the earlier ones would have been written
    with np.errstate(all="raise"):
        _refused(model, state, r"'2\.W': a value of magnitude 1e\+300 overflows float32")


def test_complex_integer_and_nonfinite_values_are_refused_with_their_key() -> None:
    model = _model()
    base = _values(model)
    _refused(model, {**base, "0.b": base["0.b"] + 1j}, r"'0\.b': complex values")
    _refused(model, {**base, "0.b": np.array([1, 2])}, r"'0\.b': int64 values for a float32")
    _refused(model, {**base, "0.b": np.array([True, False])}, r"'0\.b': bool values")
    nan = base["2.b"].copy()
    nan[1] = np.nan
    _refused(model, {**base, "2.b": nan}, r"'2\.b': 1 NaN/Inf value")
    model.load_state_dict({**base, "2.b": nan}, allow_nonfinite=True)
    assert np.isnan(model[2].b.data[1])


def test_alias_keys_of_a_tied_weight_must_agree() -> None:
    model = sa.Sequential(sa.Linear(2, 2), sa.Linear(2, 2))
    model[1].W = model[0].W
    base = _values(model)
    _refused(model, {**base, "1.W": base["1.W"] + 1}, r"'0\.W' and '1\.W' name one tied weight")
    model.load_state_dict({**base, "0.W": base["0.W"] + 1, "1.W": base["1.W"] + 1})
    assert model[1].W is model[0].W and (model[0].W.data == base["0.W"] + 1).all()


def test_a_float64_value_in_range_is_cast_to_the_model_dtype() -> None:
    model = _model()
    state = {k: v.astype(np.float64) * 2 for k, v in model.state_dict().items()}
    model.load_state_dict(state)
    for key, value in model.state_dict().items():
        assert value.dtype == np.float32
        np.testing.assert_array_equal(value, state[key].astype(np.float32))


def test_pytorch_names_get_a_hint_to_convert_them() -> None:
    model = sa.Sequential(sa.Linear(3, 2))
    torch_named = {"0.weight": np.zeros((2, 3), np.float32), "0.bias": np.zeros(2, np.float32)}
    with pytest.raises(sa.StateDictError, match=r"scratchai\.interop\.state_from_torch"):
        model.load_state_dict(torch_named)
