"""Summary data: per-call records in forward order, shapes, own counts, shared parameters."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import scratchai as sa
from scratchai import (
    BatchNorm1d,
    Dropout,
    LayerSummary,
    Linear,
    Module,
    ReLU,
    Sequential,
    ShapeError,
    count_parameters,
    parameter_owners,
    summarize,
)
from scratchai.hooks import live_hook_handles


def lesson_mlp() -> Sequential:
    return Sequential(Linear(128, 64), ReLU(), Linear(64, 10))


def test_lesson_mlp_shapes_counts_and_order() -> None:
    rows = summarize(lesson_mlp(), (32, 128))
    assert [(r.path, r.type_name, r.depth) for r in rows] == [
        ("", "Sequential", 0),
        ("0", "Linear", 1),
        ("1", "ReLU", 1),
        ("2", "Linear", 1),
    ]
    assert [(r.input_shape, r.output_shape) for r in rows] == [
        ((32, 128), (32, 10)),
        ((32, 128), (32, 64)),
        ((32, 64), (32, 64)),
        ((32, 64), (32, 10)),
    ]
    assert [r.num_params for r in rows] == [0, 128 * 64 + 64, 0, 64 * 10 + 10]
    assert all(r.shared == () for r in rows)
    assert count_parameters(lesson_mlp()) == (8906, 8906)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rows[0].path = "x"  # type: ignore[misc]


def test_nested_modules_in_call_order() -> None:
    model = Sequential(Sequential(Linear(3, 4), ReLU()), Linear(4, 2))
    rows = summarize(model, (5, 3))
    assert [(r.path, r.depth, r.output_shape) for r in rows] == [
        ("", 0, (5, 2)),
        ("0", 1, (5, 4)),
        ("0.0", 2, (5, 4)),
        ("0.1", 2, (5, 4)),
        ("1", 1, (5, 2)),
    ]


def test_module_used_twice_appears_twice_under_its_first_name() -> None:
    layer = Linear(4, 4)
    model = Sequential(layer, ReLU(), layer)
    rows = summarize(model, (2, 4))
    assert [r.path for r in rows] == ["", "0", "1", "0"]
    assert [r.num_params for r in rows] == [0, 20, 0, 20]
    # The same module under two names is not "shared with another owner".
    assert all(r.shared == () for r in rows)
    assert count_parameters(model) == (20, 40)


class Tied(Module):
    """Encoder and decoder sharing one weight (same attribute name), plus an alias."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = Linear(4, 4)
        self.dec = Linear(4, 4)
        self.dec.W = self.enc.W
        self.act = ReLU()

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.dec(self.act(self.enc(x)))


def test_shared_parameters_are_marked_on_every_owner() -> None:
    model = Tied()
    rows = {r.path: r for r in summarize(model, (3, 4))}
    assert rows["enc"].shared == (("W", ("dec.W",)),)
    assert rows["dec"].shared == (("W", ("enc.W",)),)
    assert rows["act"].shared == ()
    assert rows["enc"].num_params == rows["dec"].num_params == 20  # own W and b each
    assert count_parameters(model) == (16 + 4 + 4, 2 * (16 + 4))

    owners = parameter_owners(model)
    assert owners[id(model.enc.W)] == ("enc.W", "dec.W")
    assert owners[id(model.enc.b)] == ("enc.b",)
    assert len(owners) == 3


def test_parameter_owners_lists_module_aliases_and_same_module_names() -> None:
    class Odd(Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = Linear(2, 2)
            self.alias = self.a  # one module, two names
            self.p = sa.Parameter(np.zeros(3, np.float32))
            self.q = self.p  # one parameter, two names in one module

        def forward(self, x: np.ndarray) -> np.ndarray:
            return self.a(x)

    model = Odd()
    owners = parameter_owners(model)
    assert owners[id(model.a.W)] == ("a.W", "alias.W")
    assert owners[id(model.p)] == ("p", "q")
    rows = {r.path: r for r in summarize(model, (1, 2))}
    assert rows[""].shared == (("p", ("q",)), ("q", ("p",)))
    assert rows[""].num_params == 3  # p and q are one Parameter
    assert rows["a"].shared == ()


def test_modes_buffers_and_rng_are_left_as_they_were() -> None:
    model = Sequential(Linear(3, 4), BatchNorm1d(4), Dropout(0.5), Linear(4, 2))
    model.train()
    model[3].eval()  # mixed flags must survive exactly
    mean = model[1].running_mean.copy()
    sa.manual_seed(0)
    expected_next = sa.get_rng().random()
    sa.manual_seed(0)
    rows = summarize(model, (1, 3))  # batch 1 is fine: the forward runs in eval mode
    assert [r.output_shape for r in rows] == [(1, 2), (1, 4), (1, 4), (1, 4), (1, 2)]
    assert [m.training for m in model.modules()] == [True, True, True, True, False]
    np.testing.assert_array_equal(model[1].running_mean, mean)
    assert sa.get_rng().random() == expected_next


def test_shape_error_propagates_and_cleans_up() -> None:
    model = lesson_mlp()
    hooks = live_hook_handles()
    with pytest.raises(ShapeError, match=r"'0'.*\(batch, 128\)"):
        summarize(model, (32, 100))
    assert live_hook_handles() == hooks
    assert model.training and all(m.training for m in model.modules())


def test_input_dtype_and_bad_shapes() -> None:
    model = Sequential(Linear(3, 2, dtype=np.float64))
    rows = summarize(model, (4, 3), dtype=np.float64)
    assert rows[0].output_shape == (4, 2)
    with pytest.raises(ValueError, match="positive ints"):
        summarize(model, (0, 3))
    with pytest.raises(TypeError, match="expects a Module"):
        summarize(object(), (1, 3))  # type: ignore[arg-type]
    assert isinstance(rows[0], LayerSummary)


def test_the_summary_prints_as_a_table_with_totals() -> None:
    rows = summarize(lesson_mlp(), (32, 128))
    assert isinstance(rows, sa.Summary) and isinstance(rows, list)
    text = str(rows)
    lines = text.splitlines()
    assert lines[0].startswith("Layer (path)  Type")
    assert lines[0].endswith("Params  Shared with")
    assert lines[2].split() == ["(model)", "Sequential", "(32,", "128)", "(32,", "10)", "-"]
    assert lines[3].split() == ["0", "Linear", "(32,", "128)", "(32,", "64)", "8,256"]
    assert "Total params: 8,906" in text and "No shared weights." in text


def test_the_table_shows_sharing_and_second_calls() -> None:
    class Tied(Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = Linear(4, 4)
            self.b = Linear(4, 4)
            self.b.W = self.a.W

        def forward(self, x: np.ndarray) -> np.ndarray:
            return self.b(self.a(self.a(x)))

    text = str(summarize(Tied(), (2, 4)))
    assert "W <-> b.W" in text and "W <-> a.W" in text
    assert "a (call 2)" in text
    assert "Total params: 24 (each weight once)" in text
    assert "Counting each owner of a shared weight: 40 (sharing saves 16)" in text
