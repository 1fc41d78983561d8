"""The lr each step used is kept for replay as runs: a long run at one lr holds one entry, not
one per step, and going back still replays every step with the lr of its time."""

from __future__ import annotations

import pytest

from scratchai.engine import Breakpoints, Stepper, load_demo


def test_a_long_run_holds_one_entry_per_lr_change_and_replays_each_step_with_its_lr() -> None:
    with Stepper(load_demo("mlp"), breakpoints=Breakpoints.none()) as stepper:
        stepper.run(max_steps=600)
        lrs = stepper.travel.timeline.lrs
        assert len(lrs) == 600 and lrs.runs == 1  # was a list of 600 floats
        first = stepper.lr
        stepper.set_lr(first / 2)
        stepper.run(max_steps=300)
        assert len(lrs) == 900 and lrs.runs == 2
        assert lrs[599] == pytest.approx(first) and lrs[600] == pytest.approx(first / 2)
        weights = {k: v.copy() for k, v in stepper.model.state_dict().items()}
        stepper.travel.goto(550)  # back into the first lr's run, then forward again
        stepper.travel.goto(900)
        for key, value in stepper.model.state_dict().items():
            assert (value == weights[key]).all(), key  # bit for bit: the same lrs replayed
        assert stepper.travel.timeline.lrs.runs == 2
