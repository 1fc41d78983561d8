"""A module tree cannot be made cyclic, and traversals work at any nesting depth."""

from __future__ import annotations

import numpy as np
import pytest

import scratchai as sa


def test_a_module_cannot_contain_itself() -> None:
    box = sa.Sequential(sa.Linear(2, 2))
    with pytest.raises(
        ValueError, match=r"'loop' \(Sequential\) in Sequential: it would contain itself"
    ):
        box.loop = box
    with pytest.raises(ValueError, match="itself"):
        box.add_module("again", box)
    assert [name for name, _ in box.named_children()] == ["0"]


def test_a_cycle_through_children_is_refused_naming_both_paths() -> None:
    outer = sa.Sequential(sa.Sequential(sa.Linear(2, 2)))
    inner = outer[0]
    with pytest.raises(ValueError, match=r"'back' \(Sequential\).*this Sequential, at 'back\.0'"):
        inner.back = outer
    deeper = outer[0][0]
    with pytest.raises(ValueError, match=r"this Linear, at 'up\.0\.0'"):
        deeper.up = outer
    assert repr(outer).count("Linear") == 1  # nothing was registered


def test_shared_modules_are_not_cycles() -> None:
    shared = sa.Linear(2, 2)
    model = sa.Sequential(shared, sa.ReLU(), shared)
    assert len(list(model.named_modules())) == 3  # the shared one once


def _chain(depth: int) -> sa.Module:
    model: sa.Module = sa.Linear(2, 2)
    for _ in range(depth):
        model = sa.Sequential(model)
    return model


def test_traversals_work_far_deeper_than_the_recursion_limit() -> None:
    model = _chain(3000)
    assert len(list(model.named_modules())) == 3001
    state = model.state_dict()
    (key,) = [k for k in state if k.endswith("W")]
    assert key.count(".") == 3000
    visited: list[str] = []
    model.apply(lambda m: visited.append(type(m).__name__))
    assert visited[0] == "Linear" and visited[-1] == "Sequential"  # children first
    model.eval()
    assert not any(m.training for m in model.modules())
    model.load_state_dict({k: np.ones_like(v) for k, v in state.items()})
    assert all((v == 1).all() for v in model.state_dict().values())
