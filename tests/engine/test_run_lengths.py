"""RunLengths behaves as the list it replaces, and holds one entry per change, not per step."""

from __future__ import annotations

import random

import pytest

from scratchai.engine.timeline.run_lengths import RunLengths


def test_it_behaves_as_a_list_under_random_operations() -> None:
    rng = random.Random(0)
    values, mirror = RunLengths(), []
    for _ in range(5000):
        op = rng.random()
        if op < 0.6 or not mirror:
            v = rng.choice([0.1, 0.1, 0.1, 0.05, 0.2])
            values.append(v)
            mirror.append(v)
        elif op < 0.9:
            i = rng.randrange(-len(mirror), len(mirror))
            v = rng.choice([0.1, 0.05, 0.2])
            values[i] = v
            mirror[i] = v
        else:
            cut = rng.randrange(len(mirror) + 1)
            del values[cut:]
            del mirror[cut:]
        assert len(values) == len(mirror)
    assert list(values) == mirror
    assert all(values[i] == mirror[i] for i in range(-len(mirror), len(mirror)))


def test_a_million_steps_at_two_rates_hold_two_runs() -> None:
    values = RunLengths()
    for _ in range(500_000):
        values.append(0.1)
    for _ in range(500_000):
        values.append(0.05)
    values[10] = 0.1  # a replay writes back what was there: nothing changes
    assert len(values) == 1_000_000 and values.runs == 2
    assert values[499_999] == 0.1 and values[500_000] == 0.05 and values[-1] == 0.05


def test_out_of_range_and_other_deletions_are_refused() -> None:
    values = RunLengths()
    values.append(1.0)
    with pytest.raises(IndexError):
        values[1]
    with pytest.raises(TypeError):
        del values[0]  # type: ignore[arg-type]
