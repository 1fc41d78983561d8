"""The benchmark scripts still import and run (a few steps, no timing asserted: see benchmarks/)."""

from __future__ import annotations

import importlib
import io
import sys
from pathlib import Path

import numpy as np
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
    for name in SCRIPTS:
        sys.modules.pop(name, None)


SCRIPTS = (
    "step_time",
    "probe_cost",
    "memory",
    "scaling",
    "diagnose_cost",
    "before_after",
    "lint_cost",
    "mode_rules_cost",
)


def test_scripts_import(benchmarks):
    for name in SCRIPTS:
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
    assert "/ tuned NumPy" in text and "Rows for the README" in text
    (row,) = rows
    # The scratchai and both hand-written steps compute the same thing from the same weights.
    assert row["loss_diff"] < 1e-5
    assert row["scratchai"] > 0 and row["numpy"] > 0 and row["numpy_tuned"] > 0
    assert row["ratios"]["numpy_tuned"].low <= row["ratios"]["numpy_tuned"].median


def test_tuned_step_trains_like_the_plain_one(benchmarks):
    step_time = importlib.import_module("step_time")
    params, X, y = step_time.make_problem((8, 6, 5, 3), 7)
    plain, tuned = step_time.HandWritten(params, X, y), step_time.TunedHandWritten(params, X, y)
    for _ in range(3):
        assert abs(plain.step() - tuned.step()) < 1e-5
    for (W0, b0), (W1, b1) in zip(plain.params, tuned.params, strict=True):
        np.testing.assert_allclose(W0, W1, atol=1e-6)
        np.testing.assert_allclose(b0, b1, atol=1e-6)


def test_interleaved_divides_by_units(benchmarks):
    step_time = importlib.import_module("step_time")
    calls = {"one": 0, "five": 0}

    def one():
        calls["one"] += 1

    def five():
        calls["five"] += 5

    step_time.interleaved(
        {"one": one, "five": five}, rounds=2, target_s=1e-4, gap_s=0.0, units={"five": 5}
    )
    assert calls["one"] > 0 and calls["five"] > 0


def test_probe_cost_runs(benchmarks):
    probe_cost = importlib.import_module("probe_cost")
    out = io.StringIO()
    medians = probe_cost.run(quick=True, big=False, out=out)
    assert "probed step in run mode" in out.getvalue()
    assert all(m > 0 for m in medians.values())


def test_memory_time_travel_runs(benchmarks):
    memory = importlib.import_module("memory")
    out = io.StringIO()
    ratios = memory.time_travel([1, 2], out)
    assert "/ weights" in out.getvalue()
    assert all(r >= 0 for r in ratios.values())


def test_scaling_runs(benchmarks):
    sys.modules.pop("tui", None)  # scaling imports benchmarks/tui.py, not tests/tui
    try:
        scaling = importlib.import_module("scaling")
        out = io.StringIO()
        results = scaling.run(depths=(2, 4), reps=1, app_modules=(4,), presses=1, out=out)
    finally:
        sys.modules.pop("tui", None)
    text = out.getvalue()
    assert "per module" in text
    assert results["engine"][4]["l"] > 0 and results["app"][4]["n"] > 0


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


def test_before_after_runs(benchmarks):
    """This checkout against itself, each in its worker process: a round of a few contenders."""
    before_after = importlib.import_module("before_after")
    out = io.StringIO()
    root = str(BENCHMARKS.parent)
    found = before_after.run(
        root, root, rounds=1, target_s=1e-3, names=("core step", "bare", "run", "l"), out=out
    )
    text = out.getvalue()
    assert "| l (process CPU) | layer event |" in text and "after / before" in text
    assert "probed step in run mode" in text
    assert set(found["versus"]) == {"core step", "bare", "run", "l"}
    assert all(b > 0 and a > 0 for b, a, _ in found["versus"].values())


def test_lint_cost_runs(benchmarks, capsys):
    lint_cost = importlib.import_module("lint_cost")
    try:
        assert lint_cost.main(["--rounds", "1", "--later", "1"]) == 0
    finally:
        sys.modules.pop("lint_cost", None)
    out = capsys.readouterr().out
    assert "lesson MLP: first step with/without lints" in out and "784-1024-1024-10" in out
