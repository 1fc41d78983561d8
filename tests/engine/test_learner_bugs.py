"""Each bug a learner makes writing modules by hand, as a model file: the debugger names the
module at fault and the cause. And the healthy demos raise none of these warnings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import scratchai as sa
from scratchai.engine import Breakpoints, StepFailed, Stepper, load_experiment_file

BUGS = Path(__file__).parent / "learner_bugs"

#: (model file, steps, warning rule, module path it must name ('' for none), words in it)
WARNED = [
    ("relu_no_mask", 1, "backward_check", "1", "ignores the mask"),
    ("bias_sign", 1, "backward_check", "2", "gradient w.r.t. b has the wrong sign"),
    ("assign_grad", 1, "backward_check", "a", "assigned (=) instead of accumulated (+=)"),
    ("per_call_state", 1, "backward_check", "block", "back-propagates the wrong call"),
    ("nine_sigmoids", 60, "vanishing_gradients", "0", "orders of magnitude below the head"),
    ("saturated_tanh", 60, "saturation", "1", "saturated"),
    ("tiny_lr", 250, "not_learning", "", "learning rate is too low"),
    ("inputs_x1000", 1, "input_scale", "", "not standardised"),
    ("overfit_gap", 1500, "overfitting", "", "a gap of"),
]


def run(name: str, steps: int, closing: Callable[[Stepper], Stepper]) -> Stepper:
    sa.manual_seed(0)
    stepper = closing(
        Stepper(load_experiment_file(BUGS / f"{name}.py"), breakpoints=Breakpoints.none())
    )
    stepper.run(max_steps=steps)
    return stepper


@pytest.mark.parametrize(("name", "steps", "rule", "target", "words"), WARNED, ids=lambda v: v)
def test_the_bug_is_named_at_its_module(name, steps, rule, target, words, closing):
    stepper = run(name, steps, closing)
    found = [w for w in stepper.warnings if w.rule == rule and words in w.message + w.diagnosis]
    assert found, [(w.rule, w.message) for w in stepper.warnings]
    assert found[0].target == target
    assert found[0].remedies  # and what to do


def test_a_reuse_bug_does_not_quote_numbers_that_read_as_a_pass(closing):
    """One call of the module is right (its errors are tiny): the warning says the failure is
    calling it twice, not 'wrong' next to errors below the tolerance."""
    stepper = run("per_call_state", 1, closing)
    [warning] = [w for w in stepper.warnings if w.rule == "backward_check"]
    assert "one call alone passes" in warning.diagnosis
    assert "two calls in one forward do not" in warning.diagnosis
    [check] = [c for c in stepper.backward_checks.values() if not c.passed]
    assert "FAIL: called twice in one forward" in check.summary()


def test_inputs_at_fault_are_reported_first_and_named_as_the_cause(closing):
    stepper = run("inputs_x1000", 1, closing)
    first = stepper.warnings
    assert first[0].rule == "input_scale"
    init = next(w for w in first if w.rule == "init_loss")
    assert "inputs are not standardised" in init.diagnosis
    assert "last layer" not in init.diagnosis
    assert init.remedies[0].startswith("standardise the inputs")


def test_not_learning_tells_a_low_lr_from_other_causes(closing):
    low = next(w for w in run("tiny_lr", 250, closing).warnings if w.rule == "not_learning")
    assert low.remedies[0].startswith("raise the learning rate")
    other = next(w for w in run("nine_sigmoids", 250, closing).warnings if w.rule == "not_learning")
    assert "learning rate is too low" not in other.diagnosis
    # the cause found on the same step is named first, with its own first remedy
    assert "likely cause is already reported: vanishing gradients" in other.diagnosis
    assert other.remedies[0].startswith("init for the activation")


def test_saturation_from_the_first_step_blames_the_init_not_the_lr(closing):
    warning = next(w for w in run("saturated_tanh", 60, closing).warnings if w.rule == "saturation")
    assert "from the first step on" in warning.diagnosis
    assert warning.remedies[0].startswith("init with smaller weights")
    assert not any(r.action == "lower_lr" for r in warning.remedies)


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("transposed", "returned a gradient of shape (16, 32) for an input of shape (32, 16)"),
        ("broadcast_grad", "shape (1, 16) for an input of shape (32, 16): NumPy would broadcast"),
        ("returns_none", "Scale.backward returned None"),
    ],
)
@pytest.mark.parametrize("granularity", ["batch", "phase", "layer"])
def test_a_wrong_return_is_named_at_the_module_that_returned_it(name, words, granularity, closing):
    sa.manual_seed(0)
    stepper = closing(Stepper(load_experiment_file(BUGS / f"{name}.py")))
    with pytest.raises(StepFailed) as failure:
        if granularity == "batch":
            stepper.run(max_steps=1)
        else:
            from scratchai.engine import Granularity

            level = Granularity.PHASE if granularity == "phase" else Granularity.LAYER
            for _ in range(40):
                stepper.advance(level)
    assert failure.value.phase == "backward" and failure.value.module == "1"
    assert words in failure.value.summary and "in module '1' (Scale())" in failure.value.summary


@pytest.mark.parametrize("name", ["mlp", "shared", "batchnorm", "digits"])
def test_healthy_demos_raise_none_of_these_warnings(name, make_stepper):
    stepper = make_stepper(name, breakpoints=Breakpoints.none())
    stepper.run(max_steps=1000)
    new_rules = {
        "backward_check",
        "input_scale",
        "vanishing_gradients",
        "exploding_gradients",
        "saturation",
        "not_learning",
    }
    assert not [w.message for w in stepper.warnings if w.rule in new_rules]
    # converged, not "overfitting: a gap" (mlp's slow validation rise is a real, mild overfit)
    assert not [w for w in stepper.warnings if "a gap of" in w.message]
    assert all(check.passed for check in stepper.views.check_backward().modules)


def test_a_check_run_again_on_the_same_step_adds_no_copy_of_its_warning(closing):
    stepper = run("bias_sign", 1, closing)  # the automatic check warned before step 1

    def count() -> int:
        return sum(w.rule == "backward_check" for w in stepper.warnings)

    before = count()
    stepper.views.check_backward()
    once = count()
    stepper.views.check_backward()  # G pressed again: the same finding
    assert before >= 1 and once <= before + 1 and count() == once
