"""Module tree semantics: registration, traversal order and dedup, state_dict, modes, repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import scratchai as sa
from scratchai import Linear, Module, Parameter, ReLU, Sequential, StateDictError


class Block(Module):
    """Own parameter, a persistent and a non-persistent buffer, two children."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(3, np.float32))
        self.register_buffer("count", np.zeros(2, np.float32))
        self.register_buffer("scratch", np.zeros(4, np.float32), persistent=False)
        self.fc1 = Linear(3, 4)
        self.fc2 = Linear(4, 3)


class Tied(Module):
    """Two Linears sharing one weight, plus the same sub-module registered twice."""

    def __init__(self) -> None:
        super().__init__()
        self.a = Linear(4, 4)
        self.b = Linear(4, 4)
        self.b.W = self.a.W
        self.again = self.a


# ---------------------------------------------------------------- traversal


def test_named_parameters_preorder_own_before_children() -> None:
    names = [name for name, _ in Block().named_parameters()]
    assert names == ["scale", "fc1.W", "fc1.b", "fc2.W", "fc2.b"]


def test_shared_parameter_and_module_yielded_once_under_first_name() -> None:
    model = Tied()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["a.W", "a.b", "b.b"]
    assert len(list(model.parameters())) == 3
    assert [name for name, _ in model.named_modules()] == ["", "a", "b"]
    assert [name for name, _ in model.named_children()] == ["a", "b"]
    assert list(model.children()) == [model.a, model.b]
    all_names = [n for n, _ in model.named_parameters(remove_duplicate=False)]
    assert all_names == ["a.W", "a.b", "b.W", "b.b", "again.W", "again.b"]


def test_named_modules_and_buffers() -> None:
    model = Sequential(Block(), ReLU())
    assert [n for n, _ in model.named_modules()] == ["", "0", "0.fc1", "0.fc2", "1"]
    assert [n for n, _ in model.named_buffers()] == ["0.count", "0.scratch"]
    assert len(list(model.buffers())) == 2
    assert [type(m).__name__ for m in model.modules()] == [
        "Sequential",
        "Block",
        "Linear",
        "Linear",
        "ReLU",
    ]


def test_num_parameters_with_and_without_dedup() -> None:
    model = Tied()
    assert model.num_parameters() == 16 + 4 + 4
    assert model.num_parameters(deduplicate=False) == 3 * (16 + 4)
    lesson = Sequential(Linear(128, 64), ReLU(), Linear(64, 10))
    assert lesson.num_parameters() == 128 * 64 + 64 + 64 * 10 + 10


# ---------------------------------------------------------------- state_dict


def test_state_dict_keeps_every_alias_and_order() -> None:
    keys = list(Block().state_dict())
    assert keys == ["scale", "count", "fc1.W", "fc1.b", "fc2.W", "fc2.b"]
    tied = Tied().state_dict()
    assert list(tied) == ["a.W", "a.b", "b.W", "b.b", "again.W", "again.b"]
    assert tied["a.W"] is tied["b.W"]


def test_non_persistent_buffer_absent_from_state_dict_but_in_buffers() -> None:
    block = Block()
    assert "scratch" not in block.state_dict()
    assert any(b is block.scratch for b in block.buffers())


def test_load_state_dict_copies_in_place_and_keeps_ties() -> None:
    sa.manual_seed(0)
    src = Tied()
    dst = Tied()
    w_before = dst.a.W
    data_before = dst.a.W.data
    state = {k: v.copy() for k, v in src.state_dict().items()}
    missing, unexpected = dst.load_state_dict(state)
    assert (missing, unexpected) == ([], [])
    assert dst.a.W is w_before and dst.a.W.data is data_before
    assert dst.b.W is dst.a.W
    np.testing.assert_array_equal(dst.a.W.data, src.a.W.data)
    np.testing.assert_array_equal(dst.b.b.data, src.b.b.data)


def _snapshot(model: Module) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


def _assert_unchanged(model: Module, before: dict[str, np.ndarray]) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)


def test_strict_load_lists_missing_and_unexpected_in_one_error_and_is_atomic() -> None:
    model = Block()
    before = _snapshot(model)
    state = {k: v + 1 for k, v in before.items()}
    del state["fc1.b"]
    del state["count"]
    state["fc3.W"] = np.zeros((2, 2), np.float32)
    state["fc0.b"] = np.zeros(2, np.float32)
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "fc1.b" in message and "count" in message
    assert "unexpected keys: fc0.b, fc3.W" in message  # sorted, whatever the file's order
    assert "missing" in message and "unexpected" in message
    _assert_unchanged(model, before)


def test_shape_mismatch_raises_even_non_strict_and_changes_nothing() -> None:
    model = Block()
    before = _snapshot(model)
    state = {k: v + 1 for k, v in before.items()}
    state["fc2.b"] = np.zeros(7, np.float32)
    with pytest.raises(StateDictError) as info:
        model.load_state_dict(state, strict=False)
    assert "fc2.b" in str(info.value) and "(3,)" in str(info.value) and "(7,)" in str(info.value)
    _assert_unchanged(model, before)


def test_non_strict_load_returns_missing_and_unexpected() -> None:
    model = Block()
    state = {k: v + 1 for k, v in _snapshot(model).items()}
    del state["scale"]
    state["extra"] = np.zeros(1)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["scale"] and unexpected == ["extra"]
    np.testing.assert_array_equal(model.fc1.W.data, state["fc1.W"])


# ---------------------------------------------------------------- modes, apply, grads, repr


def test_train_eval_recurse() -> None:
    model = Sequential(Block(), sa.Dropout(0.5))
    assert model.eval() is model
    assert all(not m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_apply_visits_children_first() -> None:
    model = Sequential(Sequential(Linear(2, 2)), ReLU())
    order: list[str] = []
    model.apply(lambda m: order.append(type(m).__name__))
    assert order == ["Linear", "Sequential", "ReLU", "Sequential"]


def test_zero_grad_resets_every_gradient() -> None:
    model = Sequential(Linear(3, 2), ReLU(), Linear(2, 1))
    out = model(np.ones((4, 3), np.float32))
    model.backward(np.ones_like(out))
    assert any(np.any(p.grad != 0) for p in model.parameters())
    assert all(p.peek_grad() is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.peek_grad() is None for p in model.parameters())  # cleared, not computed
    assert all(np.all(p.grad == 0) for p in model.parameters())
    assert all(p.grad.shape == p.shape for p in model.parameters())


def test_repr_is_indented_tree() -> None:
    model = Sequential(OrderedDict(fc1=Linear(128, 64), act=ReLU(), seq=Sequential(ReLU())))
    assert repr(model) == (
        "Sequential(\n"
        "  (fc1): Linear(in_features=128, out_features=64, bias=True)\n"
        "  (act): ReLU()\n"
        "  (seq): Sequential(\n"
        "    (0): ReLU()\n"
        "  )\n"
        ")"
    )


# ---------------------------------------------------------------- attribute rules


def test_getattr_typo_names_class_and_attribute() -> None:
    layer = Linear(2, 3)
    with pytest.raises(AttributeError, match=r"'Linear' object has no attribute 'weight'"):
        layer.weight  # noqa: B018


def test_delattr_unregisters() -> None:
    block = Block()
    del block.fc2
    del block.scale
    del block.count
    assert [n for n, _ in block.named_parameters()] == ["fc1.W", "fc1.b"]
    assert "count" not in block.state_dict()
    assert [n for n, _ in block.named_children()] == ["fc1"]
    with pytest.raises(AttributeError):
        block.fc2  # noqa: B018


def test_assigning_ndarray_to_parameter_name_is_type_error() -> None:
    layer = Linear(2, 3)
    with pytest.raises(TypeError, match=r"'W' is a registered Parameter"):
        layer.W = np.zeros((2, 3), np.float32)
    assert isinstance(layer.W, Parameter)


def test_plain_ndarray_attribute_is_not_a_parameter() -> None:
    layer = Linear(2, 3)
    layer.cache = np.zeros(3)
    assert "cache" not in dict(layer.named_parameters())
    assert "cache" not in layer.state_dict()


def test_parameter_or_module_before_super_init_is_attribute_error() -> None:
    class Early(Module):
        def __init__(self) -> None:
            self.W = Parameter(np.zeros(2))
            super().__init__()

    class EarlyModule(Module):
        def __init__(self) -> None:
            self.fc = Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Early()
    with pytest.raises(AttributeError, match="EarlyModule"):
        EarlyModule()


def test_parameter_grad_shape_dtype_and_repr() -> None:
    p = Parameter(np.zeros((2, 3), np.float32))
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32
    assert "(2, 3)" in repr(p) and "float32" in repr(p)
    with pytest.raises(TypeError, match="floating-point"):
        Parameter(np.zeros(3, np.int64))


def test_module_used_twice_accumulates_both_uses() -> None:
    sa.manual_seed(1)
    layer = Linear(3, 3, dtype=np.float64)
    model = Sequential(layer, sa.Tanh(), layer)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = model(x)
    model.backward(np.ones_like(out))
    twice = layer.W.grad.copy()
    # The second use alone: its gradient is a strict part of the total.
    layer.zero_grad()
    h = np.tanh(x @ layer.W.data + layer.b.data)
    np.testing.assert_allclose(twice - h.T @ np.ones_like(out), _first_use_grad(layer, x, out))


def _first_use_grad(layer: Linear, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    h_pre = x @ layer.W.data + layer.b.data
    dh = np.ones_like(out) @ layer.W.data.T * (1 - np.tanh(h_pre) ** 2)
    return x.T @ dh


def test_backward_hook_runs_for_loss_backward_without_argument() -> None:
    seen: list[str] = []
    crit = sa.CrossEntropyLoss()
    with crit.register_backward_hook(lambda m, g_out, g_in: seen.append(type(m).__name__)):
        crit(np.zeros((2, 3), np.float32), np.array([0, 1]))
        crit.backward()
    assert seen == ["CrossEntropyLoss"]


def test_hooks_belong_to_the_model_they_watch() -> None:
    """A hook on one model never runs for another, and its handle takes it off every module."""
    watched = sa.Sequential(sa.Linear(4, 3), sa.ReLU())
    other = sa.Sequential(sa.Linear(4, 3), sa.ReLU())
    seen: list[str] = []
    handle = watched.register_forward_hook(
        lambda m, inputs, out: seen.append(type(m).__name__), recurse=True
    )
    x = np.ones((2, 4), np.float32)
    other(x)
    assert seen == []
    watched(x)
    assert seen == ["Linear", "ReLU", "Sequential"]
    handle.remove()
    handle.remove()  # idempotent
    watched(x)
    assert seen == ["Linear", "ReLU", "Sequential"] and not handle.alive


def test_a_copy_of_a_model_is_not_watched_by_the_original_hooks() -> None:
    import copy

    model = sa.Sequential(sa.Linear(4, 3))
    seen: list[object] = []
    with model.register_forward_hook(lambda m, i, o: seen.append(m), recurse=True):
        clone = copy.deepcopy(model)
        clone(np.ones((1, 4), np.float32))
    assert seen == []


class _Scaled(Linear):
    """A learner's layer whose backward calls the parent's (``super().backward``)."""

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return super().backward(2.0 * grad_output)


def test_a_backward_hook_wraps_the_instance_not_the_class() -> None:
    """The hook reports each backward once (``super().backward`` inside is not reported again),
    watches only the module it was put on, and leaves the class's ``backward`` as written."""
    sa.manual_seed(0)
    watched, other = _Scaled(3, 2), _Scaled(3, 2)
    seen: list[tuple[int, tuple[int, ...]]] = []
    x = np.ones((4, 3), np.float32)
    with watched.register_backward_hook(lambda m, g_out, g_in: seen.append((id(m), g_in.shape))):
        assert "backward" in watched.__dict__ and "backward" not in other.__dict__
        for layer in (watched, other):
            layer(x)
            layer.backward(np.ones((4, 2), np.float32))
    assert seen == [(id(watched), (4, 3))]
    assert "backward" not in watched.__dict__  # taken off with the last hook
    assert _Scaled.backward is _Scaled.__dict__["backward"]  # the class as written


def test_a_copy_of_a_watched_model_runs_the_class_backward() -> None:
    import copy
    import pickle

    model = sa.Sequential(sa.Linear(3, 2))
    with model.register_backward_hook(lambda *a: None, recurse=True):
        clone = copy.deepcopy(model)
        pickled = pickle.loads(pickle.dumps(model))
    assert all("backward" not in m.__dict__ for m in (*clone.modules(), *pickled.modules()))
