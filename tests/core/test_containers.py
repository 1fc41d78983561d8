"""Sequential, ModuleList and ModuleDict behave like PyTorch's."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from scratchai import Identity, Linear, ModuleDict, ModuleList, ReLU, Sequential, Tanh


def test_sequential_int_negative_index_len_iter() -> None:
    a, b, c = Linear(2, 3), ReLU(), Linear(3, 1)
    seq = Sequential(a, b, c)
    assert len(seq) == 3
    assert seq[0] is a and seq[-1] is c and seq[-3] is a
    assert list(seq) == [a, b, c]
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    with pytest.raises(IndexError):
        seq[-4]


def test_sequential_slice_is_sequential_sharing_modules() -> None:
    a, b, c = Linear(2, 3), ReLU(), Linear(3, 1)
    seq = Sequential(a, b, c)
    tail = seq[1:]
    assert isinstance(tail, Sequential)
    assert list(tail) == [b, c]
    out = tail(np.ones((4, 3), np.float32))
    assert out.shape == (4, 1)


def test_sequential_append_insert_extend_pop() -> None:
    a, b, c, d = Identity(), ReLU(), Tanh(), Identity()
    seq = Sequential(a)
    seq.append(b)
    seq.extend([c])
    seq.insert(0, d)
    assert list(seq) == [d, a, b, c]
    assert [name for name, _ in seq.named_children()] == ["0", "1", "2", "3"]
    assert seq.pop(1) is a
    assert list(seq) == [d, b, c]
    assert seq.pop() is c
    assert [name for name, _ in seq.named_children()] == ["0", "1"]


def test_sequential_from_ordered_dict_keeps_names() -> None:
    fc1, fc2 = Linear(4, 3), Linear(3, 2)
    seq = Sequential(OrderedDict([("fc1", fc1), ("act", ReLU()), ("fc2", fc2)]))
    assert [n for n, _ in seq.named_children()] == ["fc1", "act", "fc2"]
    assert seq.fc2 is fc2 and seq[2] is fc2
    assert [n for n, _ in seq.named_parameters()] == ["fc1.W", "fc1.b", "fc2.W", "fc2.b"]


def test_sequential_forward_backward_chain() -> None:
    fc1, fc2 = Linear(4, 3, dtype=np.float64), Linear(3, 2, dtype=np.float64)
    seq = Sequential(fc1, Tanh(), fc2)
    x = np.random.default_rng(0).standard_normal((5, 4))
    out = seq(x)
    np.testing.assert_allclose(out, np.tanh(x @ fc1.W.data + fc1.b.data) @ fc2.W.data + fc2.b.data)
    dx = seq.backward(np.ones_like(out))
    assert dx.shape == x.shape


def test_sequential_refuses_non_modules() -> None:
    with pytest.raises(TypeError, match="Modules only"):
        Sequential(Linear(2, 2), np.tanh)  # type: ignore[arg-type]


def test_module_list_list_ops_and_registration() -> None:
    layers = ModuleList([Linear(2, 2), ReLU()])
    layers.append(Linear(2, 3))
    layers.extend([Tanh()])
    layers.insert(1, Identity())
    assert len(layers) == 5
    assert [type(m).__name__ for m in layers] == ["Linear", "Identity", "ReLU", "Linear", "Tanh"]
    assert isinstance(layers[-1], Tanh)
    assert isinstance(layers[1:3], ModuleList) and len(layers[1:3]) == 2
    assert [n for n, _ in layers.named_parameters()] == ["0.W", "0.b", "3.W", "3.b"]
    assert isinstance(layers.pop(), Tanh) and len(layers) == 4


def test_module_dict_dict_ops() -> None:
    heads = ModuleDict({"cls": Linear(4, 3)})
    heads["reg"] = Linear(4, 1)
    heads.update([("act", ReLU())])
    assert "cls" in heads and "nope" not in heads
    assert heads.keys() == ["cls", "reg", "act"]
    assert [type(m).__name__ for m in heads.values()] == ["Linear", "Linear", "ReLU"]
    assert [k for k, _ in heads.items()] == ["cls", "reg", "act"]
    assert [n for n, _ in heads.named_parameters()] == ["cls.W", "cls.b", "reg.W", "reg.b"]
    assert isinstance(heads.pop("act"), ReLU)
    assert len(heads) == 2 and list(heads) == ["cls", "reg"]
    with pytest.raises(KeyError, match="has no module 'nope'"):
        heads["nope"]


@pytest.mark.parametrize(
    "container", [ModuleList([Linear(2, 2)]), ModuleDict({"fc": Linear(2, 2)})]
)
def test_calling_module_list_or_dict_explains(container) -> None:
    with pytest.raises(TypeError, match="has no forward"):
        container(np.ones((1, 2), np.float32))
