"""The nine exercises of the Net Architect lesson: what each asks, its hint, its entry points.

The graded tests themselves are in ``checks_tree.py`` (1-4) and ``checks_layers.py`` (5-9).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from .grader import EXERCISES, Exercise


def _fake() -> types.SimpleNamespace:
    """A stand-in ``self`` for calling a method unbound: enough for a stub to raise."""
    return types.SimpleNamespace(_parameters={}, _modules={}, _buffers={}, params=[], lr=0.1)


def _calls(*names: str, args: tuple = ()) -> Callable[[types.ModuleType], list[Callable[[], Any]]]:
    """Probes calling ``Class.method(fake, *args)`` for each ``"Class.method"`` of ``names``."""

    def probes(nn: types.ModuleType) -> list[Callable[[], Any]]:
        found: list[Callable[[], Any]] = []
        for name in names:
            owner, _, method = name.partition(".")
            found.append(_bind(getattr(getattr(nn, owner), method), args))
        return found

    return probes


def _bind(fn: Callable[..., Any], args: tuple) -> Callable[[], Any]:
    return lambda: fn(_fake(), *args)


def _add(number: int, title: str, asks: str, hint: str, probes: Callable) -> None:
    EXERCISES[number] = Exercise(number, title, asks, hint, probes)


_X = np.ones((2, 3))

_add(
    1,
    "Parameter: .data and .grad",
    "Write Parameter: it keeps the values as .data and a gradient .grad of the same shape and "
    "dtype, starting at zero; .shape; zero_grad() resets the gradient.",
    "A gradient is an array the same size as the weights: every weight gets its own slope. "
    "NumPy has a function that makes zeros shaped and typed like another array.",
    lambda nn: [lambda: nn.Parameter(np.zeros(2)), _calls("Parameter.zero_grad")(nn)[0]],
)
_add(
    2,
    "Module: the three registries and __setattr__",
    "Write Module.__init__ (the dicts _parameters, _modules, _buffers), __setattr__ (a "
    "Parameter goes to _parameters, a Module to _modules, anything else to neither), "
    "register_buffer and __call__ (model(X) runs forward).",
    "__setattr__ runs for every `self.x = ...`, including the three assignments in __init__ "
    "itself: create the dicts without going through it (object.__setattr__). After sorting "
    "the value into its registry, still store the attribute, so that `self.W` reads back.",
    lambda nn: [lambda: nn.Module(), *_calls("Module.__setattr__", args=("x", 1))(nn)],
)
_add(
    3,
    "The parameter tree: named_parameters, parameters, counting",
    "Write named_modules and named_parameters (recursive, dotted names, pre-order, each "
    "Parameter once: deduplicate by id()), parameters() and num_parameters(deduplicate).",
    "Walk the tree: a module, then each of its children's subtrees. Keep a set of the id() of "
    "every Parameter already yielded: a shared weight is one object reachable under two names, "
    "and comparing arrays by value would merge two different weights that happen to be equal.",
    _calls(
        "Module.named_modules",
        "Module.named_parameters",
        "Module.parameters",
        "Module.num_parameters",
    ),
)
_add(
    4,
    "state_dict and load_state_dict",
    "Write state_dict (every parameter's array and every buffer, by dotted name, each name of "
    "a shared weight included) and load_state_dict (copy the values in place; refuse a wrong "
    "shape; with strict=True, refuse missing and unexpected keys, naming them).",
    "Parameters and buffers both travel with the model: a batch norm's running mean is saved "
    "too. Loading must not replace the model's arrays (a tie between two layers would break): "
    "copy the values into them. Check every key before copying anything.",
    lambda nn: [
        *_calls("Module.state_dict")(nn),
        *_calls("Module.load_state_dict", args=({},))(nn),
    ],
)
_add(
    5,
    "Sequential, ModuleList, ModuleDict",
    "Write Sequential (children '0', '1', ...; forward feeds each output into the next; "
    "backward calls the children's backwards in reverse order), ModuleList and ModuleDict "
    "(registered children, so their parameters are found).",
    "A container is a Module whose children are registered like any attribute, under names "
    "'0', '1', ... (setattr takes a name as a string). The backward of a chain runs it "
    "backwards: the last layer's gradient is the first to compute.",
    lambda nn: [
        lambda: nn.Sequential(),
        lambda: nn.ModuleList(),
        lambda: nn.ModuleDict(),
        *_calls("Sequential.forward", "Sequential.backward", args=(_X,))(nn),
    ],
)
_add(
    6,
    "Linear: X @ W + b, forward and backward",
    "Write Linear(in_features, out_features): W (in, out) and b (out,) uniform in "
    "±1/sqrt(in_features); forward x @ W + b; backward adds dW = x.T @ dout and db (summed "
    "over the batch) into the gradients and returns dx = dout @ W.T.",
    "Write down the shapes: x (batch, in), W (in, out), dout (batch, out). Each gradient has "
    "the shape of what it is the gradient of, and there is one way to combine the other two "
    "arrays into that shape. The bias is added to every row of the batch, so its gradient "
    "collects every row.",
    lambda nn: [
        lambda: nn.Linear(3, 2),
        *_calls("Linear.forward", "Linear.backward", args=(_X,))(nn),
    ],
)
_add(
    7,
    "ReLU and CrossEntropyLoss",
    "Write ReLU (forward max(0, x), backward: the gradient passes where the input was "
    "positive) and CrossEntropyLoss (forward: softmax + cross-entropy averaged over the batch, "
    "stable for large logits; backward: dlogits = (softmax - one_hot) / batch).",
    "Softmax does not change when you subtract the same number from a whole row: pick the "
    "number that makes the largest exponent exp(0). The loss is a mean, so every gradient "
    "entry carries a 1/batch. ReLU's backward needs to remember where the input was positive.",
    lambda nn: [
        *_calls("ReLU.forward", "ReLU.backward", args=(_X,))(nn),
        lambda: nn.CrossEntropyLoss.forward(_fake(), _X, np.zeros(2, dtype=int)),
        lambda: nn.CrossEntropyLoss.backward(_fake()),
    ],
)
_add(
    8,
    "SGD and zero_grad",
    "Write SGD(params, lr): keep each Parameter once, step() does W -= lr * W.grad in place, "
    "zero_grad() resets every gradient; and Module.zero_grad() for the whole tree.",
    "Update the array itself (an augmented assignment on .data), not a new array bound to the "
    "name. A weight shared by two layers arrives twice in the list you are given: step it once, "
    "it already holds the gradient of both uses.",
    lambda nn: [
        lambda: nn.SGD([], 0.1),
        *_calls("SGD.step", "SGD.zero_grad", "Module.zero_grad")(nn),
    ],
)
_add(
    9,
    "Parameter sharing: counted once, gradient from both uses",
    "Write count_parameters(model) -> (deduplicated, naive) and parameter_owners(model) -> "
    "{id(param): every dotted name}. The grader ties two of your Linears (b.W = a.W) and checks "
    "the counts, the names and that W.grad holds the gradient of both uses.",
    "Sharing is Python's own binding: `b.W = a.W` makes both names point at one object. Walk "
    "every module and every name, and group the names by the id() of the Parameter they hold.",
    lambda nn: [lambda: nn.count_parameters(_fake()), lambda: nn.parameter_owners(_fake())],
)
