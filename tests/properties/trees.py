"""Hypothesis strategies: random module trees with shared parameters and shared sub-modules."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

import scratchai as sa

WIDTH = 3  # every Linear is WIDTH x WIDTH, so any weight can be tied to any other

#: A tree shape: a leaf is an index into a pool of Linear layers (a repeated index is a
#: sub-module shared by two places); a node is (container kind, children).
shapes = st.recursive(
    st.integers(0, 3),
    lambda children: st.tuples(
        st.sampled_from(["sequential", "list", "dict"]), st.lists(children, min_size=1, max_size=3)
    ),
    max_leaves=8,
)

#: For each of the 4 pooled Linears: which of 3 pooled weights it uses (ties), and whether it
#: has a bias.
wirings = st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=4, max_size=4)


def build_tree(
    shape: Any, wiring: list[tuple[int, bool]], seed: int, dtype: type = np.float64
) -> sa.Module:
    """A model of the given shape; its Linears share weights as ``wiring`` says."""
    rng = np.random.default_rng(seed)
    weights = [sa.Parameter(rng.standard_normal((WIDTH, WIDTH)), dtype) for _ in range(3)]
    pool = []
    for weight, bias in wiring:
        layer = sa.Linear(WIDTH, WIDTH, bias=bias, dtype=dtype)
        layer.W = weights[weight]
        if bias:
            layer.b = sa.Parameter(rng.standard_normal(WIDTH), dtype)
        pool.append(layer)

    def make(node: Any) -> sa.Module:
        if isinstance(node, int):
            return pool[node]
        kind, children = node
        modules = [make(child) for child in children]
        if kind == "sequential":
            return sa.Sequential(*modules)
        if kind == "list":
            return sa.ModuleList(modules)
        return sa.ModuleDict({f"m{i}": m for i, m in enumerate(modules)})

    root = make(shape)
    return root if not isinstance(shape, int) else sa.Sequential(root)


def distinct_parameters(model: sa.Module) -> list[sa.Parameter]:
    """Every Parameter object reachable in the tree, once each, found without the library's
    own deduplication (a walk over every path of ``state_dict``'s keys)."""
    found: dict[int, sa.Parameter] = {}
    for _, module in model.named_modules(remove_duplicate=False):
        for _, param in module.named_parameters(recurse=False, remove_duplicate=False):
            found.setdefault(id(param), param)
    return list(found.values())
