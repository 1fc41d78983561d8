"""Summary data: one forward on an example input, recorded per module call, as plain records.

``summarize(model, (32, 128))`` returns one ``LayerSummary`` per module call in forward order
(the order calls start: a container before its children; a module used twice appears twice):
its path, type, input and output shapes, own parameter count and which of its parameters are
shared with which other owners. ``print()`` it for a table (``summary_table.Summary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .call_state import call_depth, no_grad
from .module import Module
from .random import get_rng_state, set_rng_state
from .sharing import count_parameters, parameter_owner_modules, parameter_owners
from .summary_table import Summary

__all__ = ["LayerSummary", "Summary", "count_parameters", "parameter_owners", "summarize"]

UNREGISTERED = "<unregistered>"


@dataclass(frozen=True)
class LayerSummary:
    """One module call of the example forward.

    Attributes:
        path: the module's dotted path in the model (its first name if registered twice;
            ``""`` for the model itself; ``"<unregistered>"`` for a module outside the tree).
        type_name: the module's class name, e.g. ``"Linear"``.
        input_shape: shape of the first array argument, e.g. ``(batch, 128)`` (None if none).
        output_shape: shape of the output, e.g. ``(batch, 64)`` (None if not an array).
        num_params: scalars in this module's own parameters (not its children's), each
            Parameter object counted once.
        shared: for each own parameter that has other owners, ``(name, other dotted names)``,
            e.g. ``(("W", ("decoder.W",)),)`` for ``decoder.W = encoder.W`` seen from
            ``encoder``. Other names of the same module object (a module registered twice) are
            not "other owners".
        depth: nesting of the call: 0 for the outermost call, 1 for its children, ...
    """

    path: str
    type_name: str
    input_shape: tuple[int, ...] | None
    output_shape: tuple[int, ...] | None
    num_params: int
    shared: tuple[tuple[str, tuple[str, ...]], ...]
    depth: int = 0


def _shape(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, (np.ndarray, np.generic)):
        return tuple(int(n) for n in value.shape)
    if isinstance(value, (int, float)):
        return ()
    return None


def _first_shape(inputs: tuple) -> tuple[int, ...] | None:
    for value in inputs:
        if isinstance(value, (np.ndarray, np.generic)):
            return _shape(value)
    return None


def _example_input(shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
    """Small random values (a private generator: the library's RNG is not consumed)."""
    dt = np.dtype(dtype)
    if np.issubdtype(dt, np.floating):
        return np.random.default_rng(0).standard_normal(shape).astype(dt)
    return np.zeros(shape, dt)


def summarize(
    model: Module, input_shape: tuple[int, ...], dtype: DTypeLike = np.float32
) -> Summary:
    """Run one forward of ``model`` on an example input and describe every module call.

    The forward runs under ``no_grad`` and in eval mode (so Dropout draws no mask and
    BatchNorm uses, and does not update, its running statistics); afterwards every module's
    ``training`` flag, every buffer and the library's random generator are exactly as before.

    Args:
        model: the model, e.g. ``Sequential(Linear(128, 64), ReLU(), Linear(64, 10))``.
        input_shape: the full input shape including the batch, e.g. ``(32, 128)``.
        dtype: dtype of the example input (float: small random values; otherwise zeros).

    Returns:
        One ``LayerSummary`` per module call, in the order the calls started, as a list that
        prints as a table with the parameter totals. For the MLP
        above: ``""`` (32, 128)->(32, 10), ``"0"`` (32, 128)->(32, 64), ``"1"`` (32, 64)->(32, 64),
        ``"2"`` (32, 64)->(32, 10).

    Raises:
        ShapeError: the model refuses an input of that shape (the message names the module).
    """
    if not isinstance(model, Module):
        raise TypeError(f"summarize() expects a Module, got {type(model).__name__}")
    shape = tuple(input_shape)
    if not all(isinstance(n, (int, np.integer)) and n > 0 for n in shape):
        raise ValueError(f"input_shape must be a tuple of positive ints, got {input_shape!r}")
    x = _example_input(tuple(int(n) for n in shape), dtype)

    paths = {id(m): name for name, m in model.named_modules()}
    owners = parameter_owner_modules(model)
    # (module, inputs' first shape, output shape, depth) in the order the calls *finished*.
    calls: list[tuple[Module, tuple[int, ...] | None, tuple[int, ...] | None, int]] = []
    base_depth = call_depth()

    def record(module: Module, inputs: tuple, output: Any) -> None:
        calls.append((module, _first_shape(inputs), _shape(output), call_depth() - base_depth))

    modes = [(m, m.training) for _, m in model.named_modules()]
    buffers = [(buf, buf.copy()) for _, buf in model.named_buffers()]
    rng_state = get_rng_state()
    handle = model.register_forward_hook(record, recurse=True)
    try:
        model.eval()
        with no_grad():
            model(x)
    finally:
        handle.remove()
        for module, mode in modes:
            module.__dict__["training"] = mode
        for buf, saved in buffers:
            np.copyto(buf, saved)
        set_rng_state(rng_state)

    records = [_summary(m, inp, out, depth, paths, owners) for m, inp, out, depth in calls]
    return Summary(_pre_order(records), *count_parameters(model))


def _summary(
    module: Module,
    input_shape: tuple[int, ...] | None,
    output_shape: tuple[int, ...] | None,
    depth: int,
    paths: dict[int, str],
    owners: dict[int, list[tuple[Module, str, str]]],
) -> LayerSummary:
    seen: set[int] = set()
    num_params = 0
    shared: list[tuple[str, tuple[str, ...]]] = []
    for name, param in module._parameters.items():
        if param is None:
            continue
        if id(param) not in seen:
            seen.add(id(param))
            num_params += param.size
        others = tuple(
            dotted
            for owner, owner_name, dotted in owners.get(id(param), ())
            if not (owner is module and owner_name == name)
        )
        if others:
            shared.append((name, others))
    return LayerSummary(
        path=paths.get(id(module), UNREGISTERED),
        type_name=type(module).__name__,
        input_shape=input_shape,
        output_shape=output_shape,
        num_params=int(num_params),
        shared=tuple(shared),
        depth=depth,
    )


def _pre_order(finished: list[LayerSummary]) -> list[LayerSummary]:
    """Reorder calls from finish order (children before parent) to start order.

    In finish order a call's nested calls are exactly the unattached records just before it
    with a greater depth, so a stack rebuilds the call tree.
    """
    stack: list[tuple[LayerSummary, list]] = []
    for record in finished:
        children: list[tuple[LayerSummary, list]] = []
        while stack and stack[-1][0].depth > record.depth:
            children.append(stack.pop())
        children.reverse()
        stack.append((record, children))
    ordered: list[LayerSummary] = []

    def walk(node: tuple[LayerSummary, list]) -> None:
        ordered.append(node[0])
        for child in node[1]:
            walk(child)

    for node in stack:
        walk(node)
    return ordered
