"""A Parameter given as a load_state_dict value loads as its ``.data`` (as torch loads an
nn.Parameter), copied into the model's own arrays; anything else that is not numeric is
refused with what the value should have been."""

from __future__ import annotations

import numpy as np
import pytest

import scratchai as sa
from scratchai.errors import StateDictError


def test_a_state_of_parameters_loads_as_their_values() -> None:
    source, target = sa.Linear(3, 2), sa.Linear(3, 2)
    W_before = target.W
    assert target.load_state_dict(dict(source.named_parameters())) == ([], [])
    assert target.W is W_before  # the model keeps its own Parameter objects
    np.testing.assert_array_equal(target.W.data, source.W.data)
    assert not np.shares_memory(target.W.data, source.W.data)  # copied, not aliased
    source.W.data += 1.0
    assert not np.array_equal(target.W.data, source.W.data)


def test_a_wrong_parameter_is_refused_like_a_wrong_array() -> None:
    target = sa.Linear(3, 2)
    with pytest.raises(StateDictError, match=r"'W': expected shape \(3, 2\), got \(2, 3\)"):
        target.load_state_dict({"W": sa.Parameter(np.zeros((2, 3), np.float32)), "b": target.b})


@pytest.mark.parametrize(("value", "given"), [(object(), "object"), ("text", "str")])
def test_a_value_that_is_no_array_says_what_it_should_have_been(value, given) -> None:
    target = sa.Linear(3, 2)
    before = target.W.data.copy()
    with pytest.raises(StateDictError) as info:
        target.load_state_dict({"W": value, "b": target.b.data})
    message = str(info.value)
    assert "expected a numeric numpy array (or a Parameter) of shape (3, 2)" in message
    assert f"got {given}" in message
    np.testing.assert_array_equal(target.W.data, before)
