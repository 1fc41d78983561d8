"""The lesson's silent failures that only show at training time, as learner-bug model files:
a hand-written loss whose backward misses a factor, labels that do not belong to their inputs,
randomness in eval mode, running statistics never updated, and the user's code raising inside
an automatic check. Each warning names the module, the cause and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import scratchai as sa
from scratchai.engine import Breakpoints, Stepper, load_experiment_file
from scratchai.engine.checks import run_checklist

BUGS = Path(__file__).parent / "learner_bugs"

#: (model file, steps, rule, target it must name, words of the cause, words of the fix)
WARNED = [
    # 5. the loss's backward
    (
        "loss_forgets_batch",
        1,
        "backward_check",
        "",
        "the loss (MyCrossEntropy) is wrong: the gradient w.r.t. the model's output is 32 times "
        "the true gradient: 32 is the batch size",
        "fix MyCrossEntropy.backward",
    ),
    (
        "loss_sums_elements",
        1,
        "backward_check",
        "",
        "the loss (SquaredError) is wrong: the gradient w.r.t. the model's output is 4 times the "
        "true gradient: 4 is the number of outputs per sample",
        "fix SquaredError.backward",
    ),
    # 8. the user's code raising inside an automatic check
    (
        "check_raises_perturbed",
        1,
        "backward_check",
        "layers.2",
        "the backward check of 'layers.2' (RootFeatures) could not finish: its forward raised "
        "ValueError on a perturbed input: RootFeatures needs non-negative input",
        "should accept any float64 input",
    ),
    (
        "check_raises_float64",
        1,
        "backward_check",
        "1",
        "could not finish: the forward of '1' (Float32Only) raised TypeError on a float64 copy "
        "of the batch: Float32Only wants float32 input",
        "should accept any float64 input",
    ),
]


def run(name: str, steps: int, closing: Callable[[Stepper], Stepper]) -> Stepper:
    sa.manual_seed(0)
    experiment = load_experiment_file(BUGS / f"{name}.py")
    stepper = closing(Stepper(experiment, breakpoints=Breakpoints.none()))
    stepper.run(max_steps=steps)
    return stepper


@pytest.mark.parametrize(("name", "steps", "rule", "target", "cause", "fix"), WARNED, ids=str)
def test_the_bug_is_named_with_its_cause_and_fix(name, steps, rule, target, cause, fix, closing):
    stepper = run(name, steps, closing)
    found = [w for w in stepper.warnings if w.rule == rule and cause in w.message]
    assert found, [(w.rule, w.message) for w in stepper.warnings]
    assert found[0].target == target
    assert any(fix in remedy for remedy in found[0].remedies), found[0].remedies


def test_a_loss_check_failure_pauses_a_run_on_the_backward_check_breakpoint(closing):
    sa.manual_seed(0)
    experiment = load_experiment_file(BUGS / "loss_forgets_batch.py")
    stepper = closing(Stepper(experiment, breakpoints=Breakpoints(backward_check=True)))
    advance = stepper.run(max_steps=5)
    assert advance.step == 1 and "the loss (MyCrossEntropy)" in advance.stopped_by[0]


def test_the_loss_check_runs_on_demand_and_in_the_checklist(closing):
    stepper = run("loss_forgets_batch", 1, closing)
    report = stepper.views.check_backward()
    [failed] = report.failed
    assert failed.path == "(loss)" and "32 is the batch size" in failed.finding
    assert "the loss (MyCrossEntropy): FAIL" in failed.summary()
    sa.manual_seed(0)
    checklist = run_checklist(load_experiment_file(BUGS / "loss_forgets_batch.py"))
    line = next(r for r in checklist.results if r.name == "backward check")
    assert not line.passed and "32 is the batch size" in line.fix


def test_a_check_that_could_not_finish_fails_the_checklist_line():
    sa.manual_seed(0)
    checklist = run_checklist(load_experiment_file(BUGS / "check_raises_perturbed.py"))
    line = next(r for r in checklist.results if r.name == "backward check")
    assert not line.passed
    assert "could not finish: its forward raised ValueError on a perturbed input" in line.fix
