"""Exits, ctrl+c and runaway loops in the user's code: reported as a failed step, undone, and
the stepper goes on from the last good step."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment, Granularity, StepFailed, StepInterrupted, Stepper


class Trap(sa.Module):
    """Passes its input through; ``action`` (set by the test) runs inside its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.action = None

    def forward(self, x):
        if self.action is not None:
            self.action()
        return x

    def backward(self, grad_output):
        return grad_output


def _stepper(closing) -> tuple[Stepper, Trap]:
    sa.manual_seed(0)
    trap = Trap()
    model = sa.Sequential(sa.Linear(8, 8), trap, sa.Linear(8, 3))
    data = make_clusters(n_samples=64, num_features=8, num_classes=3, seed=0)
    experiment = Experiment(
        model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1), sa.DataLoader(data, 16)
    )
    return closing(Stepper(experiment)), trap


def _weights(stepper: Stepper) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in stepper.model.state_dict().items()}


@pytest.mark.parametrize(
    ("raise_it", "kind", "summary"),
    [
        (lambda: (_ for _ in ()).throw(SystemExit(0)), StepFailed, "sys.exit(0)"),
        (lambda: (_ for _ in ()).throw(SystemExit(3)), StepFailed, "sys.exit(3)"),
        # raised by the code itself: a failed step (only an interrupt asked for is one)
        (
            lambda: (_ for _ in ()).throw(KeyboardInterrupt()),
            StepFailed,
            "the code raised KeyboardInterrupt()",
        ),
    ],
)
def test_an_exit_or_keyboard_interrupt_in_user_code_is_a_failed_step(
    closing, raise_it, kind, summary
):
    stepper, trap = _stepper(closing)
    stepper.run(max_steps=2)
    before = _weights(stepper)
    trap.action = raise_it
    with pytest.raises(kind) as info:
        stepper.advance(Granularity.BATCH)
    assert summary in info.value.summary and info.value.module == "1"
    assert stepper.step == 2
    for key, value in stepper.model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    trap.action = None
    assert stepper.advance(Granularity.BATCH).step == 3  # no stale generator behind


SPINNING = threading.Event()


def forever() -> None:
    """A user's runaway loop."""
    SPINNING.set()
    while True:
        pass


def _spin_until_interrupted(stepper: Stepper, advance) -> BaseException:
    """Run ``advance`` in a thread while the user's forward loops forever; interrupt it once
    the loop runs (as a user would, seeing the step hang)."""
    caught: list[BaseException] = []
    SPINNING.clear()

    def work() -> None:
        try:
            advance()
        except BaseException as exc:  # what the caller of advance sees
            caught.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert SPINNING.wait(5)
    deadline = time.monotonic() + 5
    while worker.is_alive() and time.monotonic() < deadline:
        stepper.interrupt()
        worker.join(0.05)
    assert not worker.is_alive(), "the runaway step was not interrupted"
    return caught[0]


def test_a_runaway_forward_is_interrupted_and_undone(closing):
    stepper, trap = _stepper(closing)
    stepper.run(max_steps=3)
    before = _weights(stepper)
    assert stepper.interrupt() is False  # nothing runs now

    trap.action = forever
    error = _spin_until_interrupted(stepper, lambda: stepper.run(max_steps=5))
    assert isinstance(error, StepInterrupted) and "interrupted during forward" in str(error)
    assert stepper.step == 3
    for key, value in stepper.model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    trap.action = None
    assert stepper.run(max_steps=2).step == 5


def test_a_runaway_forward_stepped_by_layers_is_interrupted(closing):
    """Stepping layers runs the forward whole before it shows layer '0': the loop in module
    '1' runs during that first ``l``, and is interrupted there."""
    stepper, trap = _stepper(closing)
    stepper.advance(Granularity.BATCH)  # the backward check of Trap ran before this step

    trap.action = forever
    error = _spin_until_interrupted(stepper, lambda: stepper.advance(Granularity.LAYER))
    assert isinstance(error, StepInterrupted) and error.module == "1"
    assert stepper.step == 1 and not stepper.mid_batch
    trap.action = None
    assert stepper.advance(Granularity.BATCH).step == 2


class Lazy(sa.Module):
    """Creates its weight in the first forward (a learner's shortcut): never trained."""

    def forward(self, x):
        if "W" not in dict(self.named_parameters(recurse=False)):
            self.W = sa.Parameter(np.ones((x.shape[1], x.shape[1]), np.float32))
        return x @ self.W.data

    def backward(self, grad_output):
        return grad_output @ self.W.data.T


def _lazy_stepper(closing) -> Stepper:
    """Linear, Lazy, Linear on 64 clustered samples: '1.W' appears in the first forward."""
    sa.manual_seed(0)
    model = sa.Sequential(sa.Linear(8, 8), Lazy(), sa.Linear(8, 3))
    data = make_clusters(n_samples=64, num_features=8, num_classes=3, seed=0)
    experiment = Experiment(
        model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1), sa.DataLoader(data, 16)
    )
    return closing(Stepper(experiment))


def test_a_parameter_created_in_the_forward_is_reported(closing):
    stepper = _lazy_stepper(closing)
    advance = stepper.advance(Granularity.BATCH)
    (late,) = [w for w in advance.warnings if w.rule == "late_parameters"]
    assert late.target == "1.W" and "'1.W'" in late.message and "__init__" in late.remedies[0]
    stepper.run(max_steps=10)
    assert [w.rule for w in stepper.warnings].count("late_parameters") == 1


def test_interrupts_at_any_moment_never_hang_a_layer_step(closing):
    """Interrupts sent at random moments of layer steps (a pass running whole, a reveal,
    finishing; the engine's own code): every advance returns or fails, none hangs."""
    stepper, _ = _stepper(closing)
    rng = np.random.default_rng(14)
    for _ in range(150):
        outcome: list[object] = []

        def work(outcome: list[object] = outcome) -> None:
            try:
                outcome.append(stepper.advance(Granularity.LAYER))
            except BaseException as exc:  # StepInterrupted, or a late interrupt
                outcome.append(exc)

        worker = threading.Thread(target=work)
        worker.start()
        time.sleep(float(rng.uniform(0, 0.0005)))
        stepper.interrupt()
        worker.join(5)
        assert not worker.is_alive(), "a layer step hung after an interrupt"
        assert outcome


def test_the_initial_weights_copy_despite_a_parameter_created_in_the_forward(closing):
    stepper = _lazy_stepper(closing)
    model = stepper.model
    first = model[0].W.data.copy()
    stepper.run(max_steps=5)
    initial = (
        stepper.travel.initial_experiment()
    )  # the copy holds '1.W' too, the checkpoint does not
    assert (initial.model[0].W.data == first).all() and not (model[0].W.data == first).all()
