"""A stepper's hooks live exactly as long as the stepper, and stepping starts no thread."""

from __future__ import annotations

import numpy as np

import scratchai as sa
from scratchai.engine import Granularity, Stepper, load_demo
from scratchai.hooks import live_hook_handles


def _abandoned_mid_layer() -> Stepper:
    sa.manual_seed(0)
    stepper = Stepper(load_demo("mlp"))
    stepper.advance(Granularity.PHASE)  # registered
    stepper.advance(Granularity.LAYER)  # the forward ran whole: layer '0' is shown
    assert stepper.active_path == "0" and stepper.mid_batch
    return stepper


def test_abandoned_steppers_leave_nothing_once_closed(our_threads) -> None:
    hooks, threads = live_hook_handles(), our_threads()
    steppers = [_abandoned_mid_layer() for _ in range(5)]
    assert not our_threads() - threads  # stepping layers runs in the caller's thread
    assert live_hook_handles() > hooks  # each watches its model
    for stepper in steppers:
        stepper.close()
    assert not our_threads() - threads
    assert live_hook_handles() == hooks
    assert steppers[0].step == 0 and steppers[0].active_path is None  # still readable


def test_a_stepper_never_watches_another_model() -> None:
    """A model trained by hand next to an open stepper runs through no hook of it."""
    with Stepper(load_demo("mlp")) as stepper:
        stepper.advance(Granularity.BATCH)
        other = sa.Sequential(sa.Linear(4, 2))
        seen: list[object] = []
        with other.register_forward_hook(lambda *a: seen.append(a), recurse=True) as handle:
            other(np.ones((1, 4), np.float32))
            assert len(seen) == 2 and handle.alive
        calls_before = stepper.last_step.step
        other(np.ones((1, 4), np.float32))
        assert stepper.last_step.step == calls_before


def test_context_manager_takes_the_hooks_off_mid_batch() -> None:
    hooks = live_hook_handles()
    with _abandoned_mid_layer() as stepper:
        model = stepper.model
        stepper.advance(Granularity.PHASE)  # into the backward: its hooks wrap each backward
        assert live_hook_handles() > hooks
    assert live_hook_handles() == hooks
    assert not any("backward" in m.__dict__ for m in model.modules())  # the classes' again


class _Double(sa.Module):
    """A module the user wrote: its backward's return is checked on every step."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return 2.0 * grad_output


def test_only_modules_the_user_wrote_get_the_backward_return_check() -> None:
    """scratchai's own layers are tested: a model of them runs through no backward hook."""
    sa.manual_seed(0)
    experiment = load_demo("mlp")
    mine = _Double()
    experiment.model = sa.Sequential(*experiment.model, mine)
    experiment.optimizer = sa.SGD(experiment.model.parameters(), lr=0.1)
    with Stepper(experiment) as stepper:
        stepper.advance(Granularity.BATCH)
        watched = [m for m in experiment.model.modules() if m._backward_hooks]
        assert watched == [mine]
    assert not mine._backward_hooks  # taken off at close
