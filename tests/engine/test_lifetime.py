"""A stepper's hooks and pass threads live exactly as long as the stepper."""

from __future__ import annotations

import threading
import time

import numpy as np

import scratchai as sa
from scratchai.engine import Granularity, Stepper, load_demo
from scratchai.engine.failures import raise_in_thread
from scratchai.engine.layerwise import PausablePass
from scratchai.engine.model_index import ModelIndex
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


def _one_layer_pass() -> PausablePass:
    model = sa.Sequential(sa.Linear(2, 2))
    return PausablePass(lambda: model(np.ones((1, 2))), "forward", ModelIndex(model))


def test_a_pass_thread_that_dies_unannounced_does_not_hang_the_stepper() -> None:
    stepping = _one_layer_pass()
    stepping._thread = threading.Thread(target=lambda: None, daemon=True)  # dies at once
    assert stepping.resume() is None and stepping.done  # noticed, not waited for forever


def test_an_interrupt_while_the_pass_thread_starts_is_an_interrupt() -> None:
    """It lands in Thread.start() (the stepper's thread waited for the pass's lock while the
    interrupt was sent): a KeyboardInterrupt, and cancelling the pass raises nothing."""
    stepping = _one_layer_pass()
    outcome: list[str] = []

    def step() -> None:
        try:
            stepping.resume()
            outcome.append("no interrupt")
        except KeyboardInterrupt:
            outcome.append("interrupted")
        stepping.cancel()
        outcome.append("cancelled")

    stepping._state.acquire()  # as PausablePass.interrupt holds it while sending
    stepper = threading.Thread(target=step)
    stepper.start()
    time.sleep(0.05)  # the stepper now waits for the lock in resume()
    raise_in_thread(stepper.ident, KeyboardInterrupt)
    stepping._state.release()
    stepper.join(10)
    assert outcome == ["interrupted", "cancelled"]


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
