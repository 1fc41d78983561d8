"""Graded tests of exercises 7-9: ReLU, cross-entropy, SGD, parameter sharing."""

from __future__ import annotations

import types
from typing import Any

import numpy as np

from . import exercises  # noqa: F401 - the exercises exist before their tests register
from .checks_layers import linear
from .checks_tree import shared_tree
from .grader import Fail, close, graded, need, numeric_grad, shape_of, show


# ---------------------------------------------------------------- exercise 7
@graded(7, "ReLU.forward: max(0, x), input left unchanged")
def relu_forward(nn: types.ModuleType) -> None:
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    before = x.copy()
    out = need(nn, "ReLU")().forward(x)
    if not close(out, np.maximum(before, 0)):
        raise Fail(f"ReLU.forward({show(before)}) returned {show(out)}, expected [0, 0, 0.5, 3]")
    if not np.array_equal(x, before):
        raise Fail(
            f"ReLU.forward changed its input to {show(x)}: the previous layer's output (and "
            "what its backward kept) must stay as it was; return a new array"
        )


@graded(7, "ReLU.backward: the gradient passes where the input was positive")
def relu_backward(nn: types.ModuleType) -> None:
    relu = need(nn, "ReLU")()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5))
    x[np.abs(x) < 0.1] = 0.5  # no input near the kink, where differences are not a slope
    g = rng.normal(size=(4, 5))
    relu.forward(x)
    dx = relu.backward(g)
    want = numeric_grad(lambda: float((relu.forward(x) * g).sum()), x, 1e-3)
    if not close(dx, want, 1e-5):
        raise Fail(
            f"ReLU.backward returned {show(dx)}, finite differences give {show(want)}: "
            "grad_output where the forward's input was > 0, and 0 elsewhere (the mask comes "
            "from the input, not from the gradient)"
        )


def _logits(batch: int = 4, classes: int = 5, scale: float = 1.0) -> tuple[np.ndarray, Any]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(batch, classes)) * scale, np.array([0, 3, 1, 4][:batch])


def _reference_loss(logits: np.ndarray, targets: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(targets)), targets].mean())


@graded(7, "CrossEntropyLoss.forward: softmax + cross-entropy, mean over the batch")
def ce_forward(nn: types.ModuleType) -> None:
    logits, targets = _logits()
    got = need(nn, "CrossEntropyLoss")().forward(logits, targets)
    want = _reference_loss(logits, targets)
    if not isinstance(got, (float, np.floating)) and shape_of(got) != "()":
        raise Fail(f"the loss is {shape_of(got)}, expected a scalar: average over the batch")
    if abs(float(got) - want) > 1e-6 * max(1.0, want):
        times = float(got) / want
        why = (
            ": that is the sum over the batch; the loss is the mean"
            if abs(times - 4) < 1e-3
            else ": -log(softmax(logits)[target]) averaged over the batch"
        )
        raise Fail(f"CrossEntropyLoss returned {float(got):.6g}, expected {want:.6g}{why}")


@graded(7, "CrossEntropyLoss is stable for large logits (shift by the row max)")
def ce_stable(nn: types.ModuleType) -> None:
    logits, targets = _logits(scale=1000.0)
    got = need(nn, "CrossEntropyLoss")().forward(logits, targets)
    want = _reference_loss(logits, targets)
    if not np.isfinite(float(got)) or abs(float(got) - want) > 1e-6 * max(1.0, want):
        raise Fail(
            f"with logits around ±1000 the loss is {float(got)}, expected {want:.6g}: exp(1000) "
            "overflows to inf; subtract each row's max first (softmax does not change)"
        )


@graded(7, "CrossEntropyLoss.backward: dlogits against finite differences")
def ce_backward(nn: types.ModuleType) -> None:
    loss = need(nn, "CrossEntropyLoss")()
    logits, targets = _logits()
    loss.forward(logits, targets)
    got = loss.backward()
    want = numeric_grad(lambda: float(loss.forward(logits, targets)), logits, 1e-5)
    if shape_of(got) != "(4, 5)":
        raise Fail(f"dlogits has shape {shape_of(got)}, expected (4, 5): one entry per logit")
    if not close(got, want, 1e-4):
        ratio = float(np.abs(got).sum() / max(np.abs(want).sum(), 1e-12))
        why = (
            ": the loss is a mean over the batch of 4, so dlogits carries a 1/batch"
            if abs(ratio - 4) < 1e-2
            else ": (softmax(logits) - one_hot(targets)) / batch"
        )
        raise Fail(
            f"CrossEntropyLoss.backward returned {show(got)}, finite differences give "
            f"{show(want)}{why}"
        )


# ---------------------------------------------------------------- exercise 8
def _param(nn: types.ModuleType, values: Any, grad: Any) -> Any:
    p = need(nn, "Parameter")(np.array(values, dtype=np.float64))
    p.grad += np.array(grad, dtype=np.float64)
    return p


@graded(8, "SGD.step: W -= lr * W.grad")
def sgd_step(nn: types.ModuleType) -> None:
    p = _param(nn, [1.0, 2.0], [0.5, -1.0])
    need(nn, "SGD")([p], lr=0.1).step()
    want = np.array([0.95, 2.1])
    if not close(p.data, want, 1e-9):
        raise Fail(
            f"one step from [1, 2] with grad [0.5, -1] and lr 0.1 gave {show(p.data)}, expected "
            f"{show(want)}: step against the gradient, scaled by lr"
        )


@graded(8, "SGD.step updates .data in place")
def sgd_in_place(nn: types.ModuleType) -> None:
    p = _param(nn, [1.0, 2.0], [1.0, 1.0])
    array = p.data
    need(nn, "SGD")([p], lr=0.5).step()
    if p.data is not array:
        raise Fail(
            "SGD.step bound a new array to p.data: update the array in place (p.data -= ...), "
            "so a state dict or anything else holding the array sees the new values"
        )


@graded(8, "a shared weight listed twice is stepped once")
def sgd_shared(nn: types.ModuleType) -> None:
    shared = _param(nn, [1.0], [1.0])
    other = _param(nn, [0.0], [1.0])
    need(nn, "SGD")([shared, other, shared], lr=0.1).step()
    if not close(shared.data, np.array([0.9]), 1e-9):
        raise Fail(
            f"a Parameter given twice (a shared weight) went from 1 to {float(shared.data[0]):.3g}"
            " with grad 1 and lr 0.1, expected 0.9: it was stepped twice; keep each Parameter "
            "once (deduplicate by id()): its .grad already holds both uses"
        )


@graded(8, "SGD.zero_grad and Module.zero_grad reset every gradient")
def zero_grads(nn: types.ModuleType) -> None:
    a, b = _param(nn, [1.0], [2.0]), _param(nn, [1.0], [3.0])
    need(nn, "SGD")([a, b], lr=0.1).zero_grad()
    if np.any(np.asarray(a.grad) != 0) or np.any(np.asarray(b.grad) != 0):
        raise Fail(f"after SGD.zero_grad() the grads are {show(a.grad)}, {show(b.grad)}: zeros")
    root = shared_tree(nn)
    for p in root.parameters():
        p.grad += 1.0
    root.zero_grad()
    left = [n for n, p in root.named_parameters() if np.any(np.asarray(p.grad) != 0)]
    if left:
        raise Fail(f"after model.zero_grad() {left} still hold gradient: reset every parameter")


# ---------------------------------------------------------------- exercise 9
def tied(nn: types.ModuleType) -> Any:
    """root.a, root.b: the learner's Linear(4, 3), with b.W = a.W."""
    root = need(nn, "Module")()
    root.a, root.b = linear(nn, 4, 3), linear(nn, 4, 3)
    root.b.W = root.a.W
    if root.b.W is not root.a.W:
        raise Fail("after b.W = a.W, b.W is not the same object as a.W: __setattr__ must bind it")
    return root


@graded(9, "count_parameters: (deduplicated, naive)")
def counts(nn: types.ModuleType) -> None:
    got = need(nn, "count_parameters")(tied(nn))
    if tuple(got) != (18, 30):
        raise Fail(
            f"count_parameters(two Linear(4, 3) with b.W = a.W) = {got}, expected (18, 30): "
            "the shared W (12 numbers) counted once, then once per layer"
        )


@graded(9, "parameter_owners: every name of a shared weight")
def owners(nn: types.ModuleType) -> None:
    root = tied(nn)
    got = need(nn, "parameter_owners")(root)
    w = got.get(id(root.a.W)) if isinstance(got, dict) else None
    if w is None or tuple(w) != ("a.W", "b.W"):
        raise Fail(
            f"parameter_owners(model)[id(a.W)] is {w!r}, expected ('a.W', 'b.W'): one entry per "
            "Parameter object (keyed by id()), listing every name it is registered under"
        )
    if tuple(got.get(id(root.b.b), ())) != ("b.b",):
        raise Fail(f"parameter_owners(model)[id(b.b)] is {got.get(id(root.b.b))!r}: ('b.b',)")


@graded(9, "a shared W gets the gradient of both uses (finite differences)")
def both_uses(nn: types.ModuleType) -> None:
    root = tied(nn)
    rng = np.random.default_rng(4)
    root.a.W.data[...] = rng.normal(size=(4, 3))
    xa, xb, ga, gb = (rng.normal(size=s) for s in ((2, 4), (2, 4), (2, 3), (2, 3)))
    root.a.forward(xa)
    root.a.backward(ga)
    root.b.forward(xb)
    root.b.backward(gb)

    def loss() -> float:
        return float((root.a.forward(xa) * ga).sum() + (root.b.forward(xb) * gb).sum())

    want = numeric_grad(loss, root.a.W.data, 1e-2)
    if not close(root.a.W.grad, want, 1e-3):
        only_b = xb.T @ gb
        why = (
            ": it holds only the second use's; add (+=) in Linear.backward"
            if close(root.a.W.grad, only_b, 1e-3)
            else ": the sum of both layers' x.T @ grad_output"
        )
        raise Fail(
            f"the shared W.grad is {show(root.a.W.grad)}, finite differences give {show(want)}"
            + why
        )
