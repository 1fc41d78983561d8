"""The stepper's side of the diagnostics: the backward check on demand, each use's gradient of a
shared weight, and the new breakpoints."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import Breakpoints, Experiment, Stepper


def test_check_on_demand_leaves_training_exactly_as_it_was(make_stepper):
    plain = make_stepper("mlp")
    plain.run(max_steps=5)
    expected = plain.history.arrays()["loss"]
    checked = make_stepper("mlp")  # seeded again: the same run unless the check disturbs it
    report = checked.views.check_backward()  # before the first step: on the next batch
    assert report.passed and [m.path for m in report.modules] == ["0", "1", "2"]
    assert set(checked.backward_checks) == {"0", "1", "2"}
    checked.run(max_steps=3)
    checked.views.check_backward(["2"])  # between steps: on the last batch
    checked.run(max_steps=2)
    assert np.array_equal(checked.history.arrays()["loss"], expected)


def test_shared_weight_shows_each_owners_contribution(make_stepper):
    stepper = make_stepper("shared")
    stepper.run(max_steps=2)
    inspection = stepper.views.inspect("branch_b.W")
    owners = [(c.owner, c.call, c.calls) for c in inspection.contributions]
    assert sorted(owners) == [("branch_a", 1, 1), ("branch_b", 1, 1)]
    # the contributions sum to the gradient (the means add up; the norms do not)
    total = sum(c.stats.mean for c in inspection.contributions)
    assert inspection.grad_summary is not None
    assert np.isclose(total, inspection.grad_summary.mean, rtol=1e-4, atol=1e-9)
    assert all(c.norm > 0 for c in inspection.contributions)
    assert stepper.views.inspect("head.W").contributions == ()  # not shared: nothing extra


class Reuse(sa.Module):
    """One Linear called twice in one forward."""

    def __init__(self) -> None:
        super().__init__()
        self.block = sa.Linear(4, 4)
        self.head = sa.Linear(4, 2)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.head(self.block(self.block(x)))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.block.backward(self.block.backward(self.head.backward(grad_output)))


def reuse_experiment() -> Experiment:
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    data = sa.ArrayDataset(x, (x[:, 0] > 0).astype(int), num_classes=2)
    model = Reuse()
    return Experiment(
        model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1), sa.DataLoader(data, 16)
    )


def test_a_module_called_twice_shows_each_calls_contribution(closing):
    sa.manual_seed(0)
    stepper = closing(Stepper(reuse_experiment()))
    stepper.run(max_steps=3)  # the first forward shows the reuse; later steps measure it
    shares = stepper.views.inspect("block.W").contributions
    assert sorted((c.owner, c.call, c.calls) for c in shares) == [("block", 1, 2), ("block", 2, 2)]
    assert not [w for w in stepper.warnings if w.rule == "backward_check"]  # Reuse is correct


def test_a_rule_breakpoint_pauses_on_its_warning(closing):
    from pathlib import Path

    from scratchai.engine import load_experiment_file

    path = Path(__file__).parent / "learner_bugs" / "relu_no_mask.py"
    sa.manual_seed(0)
    stepper = closing(
        Stepper(
            load_experiment_file(path),
            breakpoints=dataclasses.replace(Breakpoints.none(), backward_check=True),
        )
    )
    advance = stepper.run(max_steps=50)
    assert advance.step == 1 and advance.stopped_by[0].startswith("backward_check: backward of '1'")
    # the old fields still work, and the new toggles are off by default
    assert Breakpoints().diverged and not Breakpoints().backward_check


class FailsInItsBackward(sa.Module):
    """Passes its input through; its backward raises (as a learner's unfinished one does)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        raise KeyboardInterrupt  # what the user's code raised, not a key the user pressed


class SpinsOnFloat64(sa.Module):
    """Loops forever on float64 inputs: only in the backward check's float64 copy."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        while x.dtype == np.float64:
            pass
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output


def _stepper_on(model: sa.Module, closing) -> Stepper:
    x = np.random.default_rng(0).standard_normal((64, 4)).astype(np.float32)
    data = sa.ArrayDataset(x, (x[:, 0] > 0).astype(int), num_classes=2)
    optimizer = sa.SGD(model.parameters(), lr=0.1)
    return closing(
        Stepper(Experiment(model, sa.CrossEntropyLoss(), optimizer, sa.DataLoader(data, 16)))
    )


def test_what_the_users_code_raises_in_the_check_is_its_finding_not_an_escape(closing):
    """The backward check reports a raise of the user's code (a KeyboardInterrupt too) as what
    it found; the step itself then meets the same bug in its backward, named there."""
    model = sa.Sequential(sa.Linear(4, 4), FailsInItsBackward(), sa.Linear(4, 2))
    stepper = _stepper_on(model, closing)
    with pytest.raises(sa.engine.StepFailed) as failure:
        stepper.advance()
    assert failure.value.phase == "backward" and failure.value.module == "1"
    assert "the code raised KeyboardInterrupt()" in failure.value.summary
    assert stepper.step == 0


def test_an_interrupt_during_the_check_before_the_first_step_is_named_as_such(closing):
    """The backward check runs the user's code before step 1: stopping it there is reported
    as the backward check's, not the data loading's, and the step is undone."""
    stepper = _stepper_on(
        sa.Sequential(sa.Linear(4, 4), SpinsOnFloat64(), sa.Linear(4, 2)), closing
    )
    caught: list[BaseException] = []

    def step() -> None:
        try:
            stepper.advance()
        except BaseException as exc:  # what the caller of advance sees
            caught.append(exc)

    worker = threading.Thread(target=step)
    worker.start()
    time.sleep(0.2)
    assert stepper.interrupt()
    worker.join(10)
    assert not worker.is_alive(), "the runaway check was not stopped"
    (failure,) = caught
    assert isinstance(failure, sa.engine.StepInterrupted), repr(failure)
    assert failure.phase == "backward check" and "during backward check" in str(failure)
    assert stepper.step == 0


class ReturnsOneRow(sa.Module):
    """A learner's backward that returns one row of the gradient: broadcastable, wrong."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output[:1]


class BodyAndHead(sa.Module):
    """A model the learner wrote around a Sequential: the wrong module sits two levels down."""

    def __init__(self) -> None:
        super().__init__()
        self.body = sa.Sequential(sa.Linear(4, 4), ReturnsOneRow())
        self.head = sa.Linear(4, 2)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.head(self.body(x))

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return self.body.backward(self.head.backward(grad_output))


def test_a_wrong_return_inside_a_nested_sequential_is_named_by_its_whole_path(closing):
    """The Sequential between the model and the module would name it '1'; the failure
    names it from the model down, in its message as in its ``module``."""
    stepper = _stepper_on(BodyAndHead(), closing)
    with pytest.raises(sa.engine.StepFailed) as failure:
        stepper.advance()
    assert failure.value.module == "body.1"
    assert "in module 'body.1' (ReturnsOneRow())" in failure.value.summary
