"""Interrupts at random moments leave training exactly where a clean run of the same steps is:
the model, the optimizer's state and the data position, bit for bit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import (
    Experiment,
    Granularity,
    Settings,
    StepFailed,
    StepInterrupted,
    Stepper,
)
from scratchai.engine.rules.base import Rule


class Busy(sa.Module):
    """A module the user wrote that takes a while (a Python loop), so that interrupts land
    inside its forward and backward, not only between modules."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        _spin(20000)
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        _spin(20000)
        (out,) = self.saved_for_backward()
        return grad_output * (1.0 - out**2)


def _spin(n: int) -> None:
    total = 0
    for i in range(n):
        total += i


def _experiment() -> Experiment:
    sa.manual_seed(3)
    model = sa.Sequential(sa.Linear(8, 16), Busy(), sa.Linear(16, 16), sa.ReLU(), sa.Linear(16, 3))
    data = make_clusters(n_samples=96, num_features=8, num_classes=3, seed=1)
    train, val = sa.train_val_split(data, 0.25, seed=1)
    optimizer = sa.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = sa.DataLoader(train, batch_size=8, shuffle=True, seed=2)
    return Experiment(model, sa.CrossEntropyLoss(), optimizer, loader, val, name="busy")


def _state(stepper: Stepper) -> tuple[dict, dict, dict]:
    exp = stepper.experiment
    model = {k: v.copy() for k, v in exp.model.state_dict().items()}
    optimizer = exp.optimizer.state_dict()
    return model, optimizer, exp.train_loader.state_dict()


def _assert_same(a: object, b: object, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where  # type: ignore[arg-type]
        for i, (x, y) in enumerate(zip(a, b, strict=True)):  # type: ignore[call-overload]
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    else:
        assert a == b, where


MOVES = {
    "layer": lambda s: s.advance(Granularity.LAYER),
    "phase": lambda s: s.advance(Granularity.PHASE),
    "batch": lambda s: s.advance(Granularity.BATCH),
    "epoch": lambda s: s.advance(Granularity.EPOCH),
    "run": lambda s: s.run(max_steps=3),
    "rewind": lambda s: s.travel.goto(max(s.step - 2, 0)),
}


@pytest.mark.parametrize("grace", [0.3, 0.0005], ids=["at-boundaries", "hard-stops"])
def test_200_random_interrupts_leave_the_state_of_a_clean_run(closing, grace):
    """200 moves of every granularity, each interrupted after a random delay (with a tiny grace
    time, most stops are hard ones inside the user's code); then the same number of steps
    trained without interruption must give the same model, optimizer state and data position."""
    settings = Settings(interrupt_grace=grace)
    stepper = closing(Stepper(_experiment(), settings=settings))
    rng = np.random.default_rng(21)
    names = sorted(MOVES)
    outcomes = {"interrupted": 0, "finished": 0}
    for _ in range(200):
        move = MOVES[names[int(rng.integers(len(names)))]]
        caught: list[BaseException] = []

        def work(move=move, caught=caught) -> None:
            try:
                move(stepper)
            except BaseException as exc:  # what the caller of the move sees
                caught.append(exc)

        worker = threading.Thread(target=work)
        worker.start()
        time.sleep(float(rng.uniform(0, 0.003)))
        stepper.interrupt()
        worker.join(10)
        assert not worker.is_alive(), "a move hung after an interrupt"
        if caught:
            # an interrupt is the only way a move fails here, and it names itself
            assert isinstance(caught[0], StepFailed), repr(caught[0])
            assert "interrupted" in str(caught[0]), str(caught[0])
            assert not stepper.mid_batch  # undone: back at the end of the last good step
            outcomes["interrupted"] += 1
        else:
            outcomes["finished"] += 1
    # most moves end before their interrupt (a layer reveal is instant), but enough land inside
    assert outcomes["interrupted"] >= 20, outcomes
    if stepper.mid_batch:  # a finished layer or phase move: complete its batch
        stepper.advance(Granularity.BATCH)

    clean = closing(Stepper(_experiment(), settings=settings))
    clean.run(max_steps=stepper.step)
    assert clean.step == stepper.step
    _assert_same(_state(stepper), _state(clean), "state")


@dataclass
class _CallWhileJudging(Rule):
    """Calls ``action`` while step ``at`` is judged: after the update, where no module boundary
    is left in that step. (Settings' rules are templates the stepper copies: a function is
    shared by the copies, an attribute set later would not be.)"""

    action: Callable[[], None]
    at: int = 2

    def check(self, record, ctx):
        if record.step == self.at:
            self.action()
        return ()


def test_an_interrupt_after_the_last_boundary_of_a_step_stops_the_next_one(closing):
    """Asked while a finished step is recorded, the interrupt is not lost: the run stops at
    the next step's start, with nothing to undo, and says so."""
    answers: list[bool] = []
    steppers: list[Stepper] = []
    rule = _CallWhileJudging(lambda: answers.append(steppers[0].interrupt()))
    stepper = closing(Stepper(_experiment(), settings=Settings(rules=(rule,))))
    steppers.append(stepper)
    with pytest.raises(StepInterrupted):
        stepper.run(max_steps=10)
    assert answers == [True] and stepper.step == 2 and not stepper.mid_batch
    assert stepper.run(max_steps=3).step == 5  # the next move starts afresh
