"""Graded tests of exercises 5-9: containers, Linear, ReLU, cross-entropy, SGD, sharing."""

from __future__ import annotations

import math
import types
from typing import Any

import numpy as np

from . import exercises  # noqa: F401 - the exercises exist before their tests register
from .grader import Fail, close, graded, need, numeric_grad, registry, shape_of, show


def affine_class(nn: types.ModuleType, log: list[str]) -> type:
    """A grader's layer of the learner's Module: ``x * w + 1`` element-wise, w (3,)."""

    class Affine(need(nn, "Module")):  # type: ignore[misc]
        def __init__(self, name: str, w: float) -> None:
            super().__init__()
            self.name = name
            self.w = nn.Parameter(np.full(3, w))

        def forward(self, x: np.ndarray) -> np.ndarray:
            log.append(f"forward {self.name}")
            self.x = x
            return x * self.w.data + 1.0

        def backward(self, grad_output: np.ndarray) -> np.ndarray:
            log.append(f"backward {self.name}")
            self.w.grad += (grad_output * self.x).sum(axis=0)
            return grad_output * self.w.data

    return Affine


# ---------------------------------------------------------------- exercise 5
@graded(5, "Sequential registers its children as '0', '1', ...")
def sequential_children(nn: types.ModuleType) -> None:
    affine = affine_class(nn, [])
    first, second = affine("first", 2.0), affine("second", 3.0)
    seq = need(nn, "Sequential")(first, second)
    children = registry(seq, "_modules")
    if list(children) != ["0", "1"] or children["0"] is not first or children["1"] is not second:
        raise Fail(
            f"Sequential(a, b)._modules is {children}, expected {{'0': a, '1': b}}: register "
            "each child (a plain list hides them from parameters() and state_dict())"
        )


@graded(5, "Sequential.forward feeds each output into the next module")
def sequential_forward(nn: types.ModuleType) -> None:
    log: list[str] = []
    affine = affine_class(nn, log)
    seq = need(nn, "Sequential")(affine("first", 2.0), affine("second", 3.0))
    out = seq(np.ones((2, 3)))
    expected = np.full((2, 3), (1 * 2 + 1) * 3 + 1.0)
    if log != ["forward first", "forward second"] or not close(out, expected):
        raise Fail(
            f"Sequential(first, second)(ones) ran {log} and returned {show(out)}, expected "
            f"{show(expected)}: x = module(x) for each child, in order"
        )


@graded(5, "Sequential.backward runs the children in reverse (finite differences)")
def sequential_backward(nn: types.ModuleType) -> None:
    log: list[str] = []
    affine = affine_class(nn, log)
    seq = need(nn, "Sequential")(affine("first", 2.0), affine("second", -1.5))
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    seq(x)
    log.clear()
    dx = seq.backward(g)
    if log != ["backward second", "backward first"]:
        raise Fail(
            f"Sequential.backward ran {log}, expected ['backward second', 'backward first']: "
            "the gradient flows from the output back, last module first"
        )
    numeric = numeric_grad(lambda: float((seq(x) * g).sum()), x, 1e-3)
    if not close(dx, numeric, 1e-5):
        raise Fail(
            f"Sequential.backward returned {show(dx)}, finite differences give {show(numeric)}: "
            "pass each module's returned gradient to the one before it, and return the last"
        )


@graded(5, "ModuleList: registered, len, indexing, iteration")
def module_list(nn: types.ModuleType) -> None:
    affine = affine_class(nn, [])
    layers = [affine(str(i), 1.0) for i in range(3)]
    holder = need(nn, "ModuleList")(layers)
    children = registry(holder, "_modules")
    if list(children.values()) != layers:
        raise Fail(
            f"ModuleList(3 layers)._modules is {children}: register each as '0', '1', '2'; "
            "a module kept in a plain list is in no registry, so its weights never train"
        )
    if len(holder) != 3 or holder[1] is not layers[1] or holder[-1] is not layers[2]:
        raise Fail("ModuleList: len() should be 3, [1] the second module and [-1] the last one")
    if list(holder) != layers:
        raise Fail("iterating over a ModuleList should give its modules in order")


@graded(5, "ModuleDict: registered under its keys")
def module_dict(nn: types.ModuleType) -> None:
    affine = affine_class(nn, [])
    enc, dec = affine("enc", 1.0), affine("dec", 1.0)
    holder = need(nn, "ModuleDict")({"encoder": enc, "decoder": dec})
    children = registry(holder, "_modules")
    if children != {"encoder": enc, "decoder": dec}:
        raise Fail(
            f"ModuleDict({{'encoder': ..., 'decoder': ...}})._modules is {children}: register "
            "each module under its key"
        )
    if holder["decoder"] is not dec or len(holder) != 2:
        raise Fail("ModuleDict['decoder'] should be the decoder module, and len() 2")


# ---------------------------------------------------------------- exercise 6
def linear(nn: types.ModuleType, n_in: int, n_out: int) -> Any:
    layer = need(nn, "Linear")(n_in, n_out)
    for name, shape in (("W", (n_in, n_out)), ("b", (n_out,))):
        p = getattr(layer, name, None)
        if not isinstance(p, need(nn, "Parameter")):
            raise Fail(f"Linear.{name} is {type(p).__name__}, expected a Parameter")
        if tuple(p.data.shape) != shape:
            raise Fail(
                f"Linear({n_in}, {n_out}).{name} has shape {tuple(p.data.shape)}, expected "
                f"{shape}: W is (in_features, out_features) so that X @ W works"
            )
    return layer


@graded(6, "Linear: W (in, out) and b (out,) registered as Parameters")
def linear_shapes(nn: types.ModuleType) -> None:
    layer = linear(nn, 128, 64)
    params = registry(layer, "_parameters")
    if params.get("W") is not layer.W or params.get("b") is not layer.b:
        raise Fail(f"Linear._parameters holds {sorted(params)}, expected W and b")


@graded(6, "Linear init: uniform in ±1/sqrt(in_features)")
def linear_init(nn: types.ModuleType) -> None:
    layer = linear(nn, 128, 64)
    bound = 1 / math.sqrt(128)
    w = np.asarray(layer.W.data, dtype=np.float64)
    biggest, std = float(np.abs(w).max()), float(w.std())
    if biggest > bound * 1.0001 or std < 0.8 * bound / math.sqrt(3):
        raise Fail(
            f"Linear(128, 64).W has max |W| {biggest:.4g} and std {std:.4g}; the lesson's init "
            f"is uniform in ±1/sqrt(128) = ±{bound:.4g} (std {bound / math.sqrt(3):.4g}): "
            "larger weights blow activations up layer after layer, far smaller ones starve them"
        )
    if float(np.abs(np.asarray(layer.b.data)).max()) > bound * 1.0001:
        raise Fail(f"Linear(128, 64).b goes beyond ±{bound:.4g}: zeros or the same uniform")


def _linear_case(nn: types.ModuleType) -> tuple[Any, np.ndarray, np.ndarray]:
    layer = linear(nn, 4, 3)
    rng = np.random.default_rng(1)
    layer.W.data[...] = rng.normal(size=(4, 3))
    layer.b.data[...] = rng.normal(size=3)
    return layer, rng.normal(size=(5, 4)), rng.normal(size=(5, 3))


@graded(6, "Linear.forward: X @ W + b")
def linear_forward(nn: types.ModuleType) -> None:
    layer, x, _ = _linear_case(nn)
    out = layer.forward(x)
    expected = x @ np.asarray(layer.W.data) + np.asarray(layer.b.data)
    if shape_of(out) != "(5, 3)" or not close(out, expected, 1e-5):
        raise Fail(
            f"Linear(4, 3).forward(x of shape (5, 4)) returned {shape_of(out)} {show(out)}, "
            f"expected (5, 3) {show(expected)}: X @ W + b"
        )


@graded(6, "Linear.backward: dW, db, dx against finite differences")
def linear_backward(nn: types.ModuleType) -> None:
    layer, x, g = _linear_case(nn)
    layer.forward(x)
    dx = layer.backward(g)
    loss = lambda: float((layer.forward(x) * g).sum())  # noqa: E731 - d loss / d out = g
    for name, got, wrt in (
        ("db", layer.b.grad, layer.b.data),
        ("dW", layer.W.grad, layer.W.data),
        ("dx", dx, x),
    ):
        want = numeric_grad(loss, wrt, 1e-2)
        if shape_of(got) != shape_of(want):
            why = {
                "db": ": sum the gradient over the batch (axis 0)",
                "dW": ": x.T @ grad_output is (in, batch) @ (batch, out)",
                "dx": ": grad_output @ W.T is (batch, out) @ (out, in)",
            }[name]
            raise Fail(
                f"Linear.backward: {name} has shape {shape_of(got)}, expected {shape_of(want)}{why}"
            )
        if not close(got, want, 1e-3):
            raise Fail(
                f"Linear.backward: {name} is {show(got)}, finite differences give {show(want)}"
            )


@graded(6, "Linear.backward adds (+=) into .grad: a second backward accumulates")
def linear_accumulates(nn: types.ModuleType) -> None:
    layer, x, g = _linear_case(nn)
    layer.forward(x)
    layer.backward(g)
    once = np.array(layer.W.grad, dtype=np.float64)
    layer.forward(x)
    layer.backward(g)
    twice = np.asarray(layer.W.grad, dtype=np.float64)
    if not close(twice, 2 * once, 1e-5):
        raise Fail(
            f"after two backwards W.grad is {show(twice)}, expected twice one backward's "
            f"{show(2 * once)}: add into .grad (+=) instead of assigning, or a weight used "
            "twice (shared, or a layer called twice) keeps only its last gradient"
        )
