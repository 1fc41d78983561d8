"""The benchmark scripts still import and run (a few steps, no timing asserted: see benchmarks/)."""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path

import pytest

from scratchai.engine import Stepper

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def benchmarks(monkeypatch):
    """The scripts importable; the steppers they open (a script just exits) closed after."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    opened: list[Stepper] = []
    init = Stepper.__init__

    def tracked(self, *args, **kwargs):
        init(self, *args, **kwargs)
        opened.append(self)

    monkeypatch.setattr(Stepper, "__init__", tracked)
    yield
    for stepper in opened:
        stepper.close()
    for name in ("step_time", "probe_cost", "memory", "diagnose_cost"):
        sys.modules.pop(name, None)


def test_scripts_import(benchmarks):
    for name in ("step_time", "probe_cost", "memory", "diagnose_cost"):
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


def test_tui_benchmark_runs(benchmarks):
    """A couple of presses of n and two short run-mode windows of the real app (~2 s)."""
    sys.modules.pop("tui", None)  # benchmarks/tui.py, not the tests/tui directory
    try:
        tui = importlib.import_module("tui")
        assert Path(tui.__file__).parent == BENCHMARKS
        out = io.StringIO()
        result = tui.run(presses=2, rounds=1, seconds=0.2, warmup_s=0.05, key_warmup=1, out=out)
    finally:
        sys.modules.pop("tui", None)
    text = out.getvalue()
    assert "`n` → screen update showing the new step" in text
    assert "app / headless" in text
    assert result["headless_steps_per_s"] > 0 and result["app_steps_per_s"] > 0


def test_diagnose_cost_runs(benchmarks):
    diagnose_cost = importlib.import_module("diagnose_cost")
    out = io.StringIO()
    found = diagnose_cost.run(["mlp"], rounds=1, per_block=2, out=out)
    assert "without diagnostics / engine step" in out.getvalue()
    assert found["mlp: check_backward s"] > 0 and found["mlp: checklist s"] > 0
