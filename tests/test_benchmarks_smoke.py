"""The benchmark scripts still import and run (a few steps, no timing asserted: see benchmarks/)."""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def benchmarks(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    yield
    for name in ("step_time", "probe_cost", "memory"):
        sys.modules.pop(name, None)


def test_scripts_import(benchmarks):
    for name in ("step_time", "probe_cost", "memory"):
        assert callable(importlib.import_module(name).main)


def test_step_time_runs_and_contenders_agree(benchmarks):
    step_time = importlib.import_module("step_time")
    out = io.StringIO()
    rows = step_time.run(
        use_torch=False,
        shapes=[("tiny 8→4→3", (8, 4, 3), 5)],
        rounds=1,
        target_s=1e-4,
        gap_s=0.0,
        out=out,
    )
    text = out.getvalue()
    assert "| tiny 8→4→3 | 5 |" in text
    assert "scratchai / NumPy" in text
    (row,) = rows
    # The scratchai and hand-written steps compute the same thing from the same weights.
    assert row["loss_diff"] < 1e-5
    assert row["scratchai"] > 0 and row["numpy"] > 0
