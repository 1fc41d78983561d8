"""A stepper's hooks and pass threads live exactly as long as the stepper."""

from __future__ import annotations

import numpy as np

import scratchai as sa
from scratchai.engine import Granularity, Stepper, load_demo
from scratchai.hooks import live_hook_handles


def _abandoned_mid_layer() -> Stepper:
    sa.manual_seed(0)
    stepper = Stepper(load_demo("mlp"))
    stepper.advance(Granularity.PHASE)  # registered
    stepper.advance(Granularity.LAYER)  # parked after layer '0', in a pass thread
    assert stepper.active_path == "0" and stepper.mid_batch
    return stepper


def test_abandoned_steppers_leave_nothing_once_closed(pass_threads) -> None:
    hooks, threads = live_hook_handles(), pass_threads()
    steppers = [_abandoned_mid_layer() for _ in range(5)]
    assert len(pass_threads() - threads) == 5  # each parks a pass thread...
    assert live_hook_handles() > hooks  # ...and watches its model
    for stepper in steppers:
        stepper.close()
    assert not pass_threads() - threads
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


def test_context_manager_closes_a_parked_pass(pass_threads) -> None:
    threads = pass_threads()
    with _abandoned_mid_layer():
        assert pass_threads() - threads
    assert not pass_threads() - threads
