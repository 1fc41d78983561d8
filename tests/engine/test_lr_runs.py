"""The lr each step used is kept for replay as runs: a long run at one lr holds one entry, not
one per step, and going back still replays every step with the lr of its time."""

from __future__ import annotations

import numpy as np
import pytest

from scratchai.engine import Breakpoints, Stepper, load_demo


def _weights(stepper: Stepper) -> dict[str, np.ndarray]:
    return {key: value.copy() for key, value in stepper.model.state_dict().items()}


def test_a_long_run_holds_one_entry_per_lr_change_and_replays_each_step_with_its_lr() -> None:
    with Stepper(load_demo("mlp"), breakpoints=Breakpoints.none()) as stepper:
        stepper.run(max_steps=553)
        at_553 = _weights(stepper)
        stepper.run(max_steps=47)
        lrs = stepper.travel.timeline.lrs
        assert len(lrs) == 600 and lrs.runs == 1  # was a list of 600 floats
        first = stepper.lr
        stepper.set_lr(first / 2)
        stepper.run(max_steps=197)
        at_797 = _weights(stepper)
        stepper.run(max_steps=103)
        assert len(lrs) == 900 and lrs.runs == 2
        assert lrs[599] == pytest.approx(first) and lrs[600] == pytest.approx(first / 2)
        # back: restored from the checkpoint before, replayed with the lrs of their time
        for step, expected in ((797, at_797), (553, at_553)):
            stepper.travel.goto(step)
            for key, value in stepper.model.state_dict().items():
                assert np.array_equal(value, expected[key]), (step, key)
