"""Graded tests of exercises 1-4: Parameter, Module's registries, the tree, the state dict."""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from . import exercises  # noqa: F401 - the exercises exist before their tests register
from .grader import Fail, graded, need, registry, shape_of, show


def leaf_class(nn: types.ModuleType) -> type:
    """A layer of the learner's Module with W (2, 3) and b (3,), built by the grader."""

    class Leaf(need(nn, "Module")):  # type: ignore[misc]
        def __init__(self, fill: float = 1.0) -> None:
            super().__init__()
            self.W = nn.Parameter(np.full((2, 3), fill))
            self.b = nn.Parameter(np.zeros(3))

    return Leaf


def tree(nn: types.ModuleType) -> Any:
    """root: own 'scale' (1,), children a (Leaf), inner (Module) holding c (Leaf)."""
    leaf = leaf_class(nn)
    root = nn.Module()
    root.a = leaf()
    root.inner = nn.Module()
    root.inner.c = leaf(2.0)
    root.scale = nn.Parameter(np.ones(1))
    return root


TREE_NAMES = ["scale", "a.W", "a.b", "inner.c.W", "inner.c.b"]


def shared_tree(nn: types.ModuleType) -> Any:
    """root with a and b (Leafs) where b.W = a.W: 3 Parameters, 12 numbers (18 naive)."""
    leaf = leaf_class(nn)
    root = nn.Module()
    root.a = leaf()
    root.b = leaf(3.0)
    root.b.W = root.a.W
    return root


# ---------------------------------------------------------------- exercise 1
@graded(1, "Parameter keeps its values as .data, and .shape")
def parameter_data(nn: types.ModuleType) -> None:
    values = np.arange(6.0).reshape(2, 3)
    p = need(nn, "Parameter")(values)
    if not isinstance(p.data, np.ndarray) or not np.array_equal(p.data, values):
        raise Fail(f"Parameter(values).data is {show(p.data)}, expected the values {show(values)}")
    if tuple(p.shape) != (2, 3):
        raise Fail(f"Parameter.shape is {p.shape}, expected (2, 3): the shape of .data")


@graded(1, ".grad: zeros of .data's shape and dtype")
def parameter_grad(nn: types.ModuleType) -> None:
    for dtype in (np.float64, np.float32):
        p = need(nn, "Parameter")(np.ones((4, 3), dtype))
        grad = p.grad
        if not isinstance(grad, np.ndarray) or grad.shape != (4, 3):
            raise Fail(
                f"Parameter(W of shape (4, 3)).grad has shape {shape_of(grad)}, expected (4, 3): "
                "every weight gets its own gradient entry"
            )
        if grad.dtype != dtype:
            raise Fail(f".grad has dtype {grad.dtype} for {np.dtype(dtype)} data: keep .data's")
        if np.any(grad != 0):
            raise Fail(f".grad starts at {show(grad)}, expected zeros: backward adds into it")


@graded(1, "zero_grad() resets .grad to zeros")
def parameter_zero_grad(nn: types.ModuleType) -> None:
    p = need(nn, "Parameter")(np.ones(3))
    p.grad += 5.0
    p.zero_grad()
    if not isinstance(p.grad, np.ndarray) or p.grad.shape != (3,) or np.any(p.grad != 0):
        raise Fail(
            f"after grad += 5 and zero_grad(), .grad is {shape_of(p.grad)} {show(p.grad)}, "
            "expected zeros of shape (3,): the next backward would add to a stale gradient"
        )


# ---------------------------------------------------------------- exercise 2
@graded(2, "Module() has the three registries, empty")
def module_registries(nn: types.ModuleType) -> None:
    m = need(nn, "Module")()
    for name in ("_parameters", "_modules", "_buffers"):
        found = registry(m, name)
        if found:
            raise Fail(f"a new Module's {name} is {found}, expected an empty dict")


@graded(2, "self.W = Parameter(...) registers it in _parameters")
def setattr_parameter(nn: types.ModuleType) -> None:
    m = need(nn, "Module")()
    p = nn.Parameter(np.ones((2, 2)))
    m.W = p
    params = registry(m, "_parameters")
    if params.get("W") is not p:
        raise Fail(
            f"after m.W = Parameter(...), m._parameters is {params}: __setattr__ must put a "
            "Parameter into _parameters under its name (Defined -> Parameters registered)"
        )
    if getattr(m, "W", None) is not p:
        raise Fail("m.W does not read back the Parameter assigned to it: store the attribute too")
    for other in ("_modules", "_buffers"):
        if "W" in registry(m, other):
            raise Fail(f"a Parameter landed in {other} too: it belongs in _parameters only")


@graded(2, "self.child = Module() registers it in _modules")
def setattr_module(nn: types.ModuleType) -> None:
    m, child = need(nn, "Module")(), nn.Module()
    m.child = child
    modules = registry(m, "_modules")
    if modules.get("child") is not child:
        raise Fail(
            f"after m.child = Module(), m._modules is {modules}: __setattr__ must put a Module "
            "into _modules, or its parameters are invisible to the tree (the nn.Module trap)"
        )
    if getattr(m, "child", None) is not child:
        raise Fail("m.child does not read back the Module assigned to it: store the attribute too")


@graded(2, "other values (an int, a plain array) go into no registry")
def setattr_plain(nn: types.ModuleType) -> None:
    m = need(nn, "Module")()
    m.size, m.cache = 3, np.ones(2)
    for name in ("_parameters", "_modules", "_buffers"):
        found = registry(m, name)
        if "size" in found or "cache" in found:
            raise Fail(
                f"m.size = 3 and m.cache = np.ones(2) ended up in {name} ({sorted(found)}): only "
                "Parameters and Modules are registered; a plain array is not trainable"
            )
    if getattr(m, "size", None) != 3:
        raise Fail("m.size = 3 does not read back 3: store plain attributes as usual")


@graded(2, "register_buffer puts non-trainable state in _buffers")
def buffers(nn: types.ModuleType) -> None:
    m = need(nn, "Module")()
    mean = np.zeros(4)
    m.register_buffer("running_mean", mean)
    if registry(m, "_buffers").get("running_mean") is not mean:
        raise Fail(
            f"after register_buffer('running_mean', ...), _buffers is {registry(m, '_buffers')}: "
            "a buffer travels with the model but is not a Parameter"
        )
    if "running_mean" in registry(m, "_parameters"):
        raise Fail("a buffer landed in _parameters: it would receive gradient updates")
    if getattr(m, "running_mean", None) is not mean:
        raise Fail("m.running_mean does not read back the registered buffer")


@graded(2, "model(X) calls forward(X)")
def call_forward(nn: types.ModuleType) -> None:
    class Double(need(nn, "Module")):  # type: ignore[misc]
        def forward(self, x: Any) -> Any:
            return 2 * x

    out = Double()(np.ones(2))
    if not isinstance(out, np.ndarray) or not np.array_equal(out, [2.0, 2.0]):
        raise Fail(f"Double()(ones(2)) returned {out!r}, expected forward's [2, 2]: return it")


# ---------------------------------------------------------------- exercise 3
@graded(3, "named_modules: pre-order paths")
def named_modules(nn: types.ModuleType) -> None:
    paths = [path for path, _ in tree(nn).named_modules()]
    if paths != ["", "a", "inner", "inner.c"]:
        raise Fail(
            f"named_modules() gave paths {paths}, expected ['', 'a', 'inner', 'inner.c']: the "
            "module itself (''), then each child's subtree, paths joined with '.'"
        )


@graded(3, "named_parameters: dotted names, own parameters first, recursive")
def named_parameters(nn: types.ModuleType) -> None:
    names = [name for name, _ in tree(nn).named_parameters()]
    if names != TREE_NAMES:
        missing = [n for n in TREE_NAMES if n not in names]
        why = (
            f"{missing} are missing: recurse into every sub-module in _modules"
            if missing
            else "order: a module's own parameters, then each child's in registration order"
        )
        raise Fail(f"named_parameters() gave {names}, expected {TREE_NAMES}; {why}")


@graded(3, "a shared Parameter comes back once (dedup by id())")
def dedup(nn: types.ModuleType) -> None:
    root = shared_tree(nn)
    params = list(root.parameters())
    names = [name for name, _ in root.named_parameters()]
    if len(params) != 3 or names != ["a.W", "a.b", "b.b"]:
        raise Fail(
            f"parameters() returned {len(params)} Parameters ({names}) for a model that holds 3: "
            "the shared W (b.W = a.W) must come back once, under its first name a.W; "
            "deduplicate by id()"
        )
    if not all(isinstance(p, nn.Parameter) for p in params):
        raise Fail("parameters() must yield the Parameter objects themselves, not their arrays")


@graded(3, "two equal but distinct Parameters are both counted")
def equal_not_same(nn: types.ModuleType) -> None:
    leaf = leaf_class(nn)
    root = nn.Module()
    root.a, root.b = leaf(), leaf()  # same values, different objects
    if len(list(root.parameters())) != 4:
        raise Fail(
            f"parameters() returned {len(list(root.parameters()))} for two layers with equal "
            "values (4 Parameters): equal values are not one weight; compare id(), not values"
        )


@graded(3, "num_parameters: each weight once; deduplicate=False once per name")
def num_parameters(nn: types.ModuleType) -> None:
    root = shared_tree(nn)
    got, naive = root.num_parameters(), root.num_parameters(deduplicate=False)
    if (got, naive) != (12, 18):
        raise Fail(
            f"num_parameters() = {got}, num_parameters(deduplicate=False) = {naive} for two "
            "Linear-like layers W (2, 3), b (3,) sharing W: expected 12 (the shared W counted "
            "once) and 18 (once per layer)"
        )


# ---------------------------------------------------------------- exercise 4
def with_buffer(nn: types.ModuleType) -> Any:
    """shared_tree plus a 'norm' module holding the buffer running_mean (3,)."""
    root = shared_tree(nn)
    root.norm = nn.Module()
    root.norm.register_buffer("running_mean", np.full(3, 0.5))
    return root


STATE_KEYS = {"a.W", "a.b", "b.W", "b.b", "norm.running_mean"}


@graded(4, "state_dict: every parameter's array and every buffer, by dotted name")
def state_dict_keys(nn: types.ModuleType) -> None:
    state = with_buffer(nn).state_dict()
    keys = set(state)
    if "norm.running_mean" not in keys:
        raise Fail(
            f"state_dict() has keys {sorted(keys)}, no 'norm.running_mean': buffers travel with "
            "the model (saved and loaded with it), only gradient updates skip them"
        )
    if "b.W" not in keys:
        raise Fail(
            f"state_dict() has keys {sorted(keys)}, no 'b.W': the state dict lists every name "
            "of a shared weight (only parameters() deduplicates), so a load can fill each name"
        )
    if keys != STATE_KEYS:
        raise Fail(f"state_dict() has keys {sorted(keys)}, expected {sorted(STATE_KEYS)}")
    if not isinstance(state["a.W"], np.ndarray) or state["a.W"].shape != (2, 3):
        raise Fail(
            f"state_dict()['a.W'] is {type(state['a.W']).__name__} {shape_of(state['a.W'])}, "
            "expected the (2, 3) array .data, not the Parameter"
        )


@graded(4, "load_state_dict copies the values in; Parameters and ties survive")
def load_copies(nn: types.ModuleType) -> None:
    source, target = with_buffer(nn), with_buffer(nn)
    state = {key: np.array(value) * 0 + 7.0 for key, value in source.state_dict().items()}
    params_before = [id(p) for p in target.parameters()]
    w_before = target.a.W
    target.load_state_dict(state)
    if [id(p) for p in target.parameters()] != params_before or target.a.W is not w_before:
        raise Fail("load_state_dict replaced Parameter objects: copy values into the existing ones")
    if target.b.W is not target.a.W:
        raise Fail("after load_state_dict, b.W is no longer a.W: the tie broke; copy values in")
    loaded = target.state_dict()
    for key in STATE_KEYS:
        if not np.array_equal(loaded[key], state[key]):
            raise Fail(f"after load_state_dict, '{key}' is {show(loaded[key])}, expected 7s")
    state["a.b"][...] = -1.0
    if np.any(target.a.b.data == -1.0):
        raise Fail(
            "changing the loaded dict's array changed the model: load_state_dict stored the "
            "dict's own array; copy the values into the model's arrays (np.copyto)"
        )


def _refusal(nn: types.ModuleType, state: dict, strict: bool = True) -> str | None:
    """The error message load_state_dict raised, or None if it accepted ``state``."""
    try:
        with_buffer(nn).load_state_dict(state, strict=strict)
    except Exception as exc:  # any error type will do, as long as it says which key
        return f"{type(exc).__name__}: {exc}"
    return None


@graded(4, "strict keys: a missing or unexpected key is refused, by name")
def strict_keys(nn: types.ModuleType) -> None:
    full = {key: np.array(value) for key, value in with_buffer(nn).state_dict().items()}
    missing = {k: v for k, v in full.items() if k != "norm.running_mean"}
    said = _refusal(nn, missing)
    if said is None or "norm.running_mean" not in said:
        raise Fail(
            "load_state_dict(state without 'norm.running_mean') "
            + ("accepted it" if said is None else f"raised {said!r}, not naming the key")
            + ": with strict=True a missing key is an error that names it"
        )
    extra = {**full, "c.W": np.zeros((2, 3))}
    said = _refusal(nn, extra)
    if said is None or "c.W" not in said:
        raise Fail(
            "load_state_dict(state with an extra 'c.W') "
            + ("accepted it" if said is None else f"raised {said!r}, not naming the key")
            + ": with strict=True an unexpected key is an error that names it"
        )
    said = _refusal(nn, missing, strict=False)
    if said is not None:
        raise Fail(f"load_state_dict(..., strict=False) with a key missing raised {said!r}")


@graded(4, "a value of the wrong shape is refused, by name")
def wrong_shape(nn: types.ModuleType) -> None:
    state = {key: np.array(value) for key, value in with_buffer(nn).state_dict().items()}
    state["a.b"] = np.zeros(1)
    said = _refusal(nn, state)
    if said is None or "a.b" not in said:
        raise Fail(
            "load_state_dict with 'a.b' of shape (1,) for a (3,) bias "
            + ("accepted it" if said is None else f"raised {said!r}, not naming the key")
            + ": a (1,) bias would broadcast silently; refuse it, naming the key"
        )
