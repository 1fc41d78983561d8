"""``scratchtui exercise run``: the lesson's MLP built from the learner's own layers, stepped in
the debugger like any model (its backward checked, its calls in the layers table)."""

from __future__ import annotations

import scratchai as sa
from scratchai.engine import Stepper
from scratchtui.exercise.bridge import lesson_mlp
from scratchtui.exercise.grader import load_learner
from scratchtui.exercise.sources import reference_source


def _learner_stepper(tmp_path, source: str) -> Stepper:
    path = tmp_path / "mynn.py"
    path.write_text(source)
    sa.manual_seed(0)
    return Stepper(lesson_mlp(load_learner(path), 0))


async def test_the_learners_layers_step_in_the_app(app_on, tmp_path, wait_until):
    app = app_on(_learner_stepper(tmp_path, reference_source()), checkpoint_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await wait_until(pilot, lambda: not app.running and app.stepper.step == 1)
        assert app.main.table.row_keys == ("0", "1", "2")  # Linear, ReLU, Linear: the lesson's
        assert not [w for w in app.stepper.warnings if w.rule == "backward_check"]
        await pilot.press("l")  # into the next batch: the learner's first Linear has run
        await wait_until(pilot, lambda: not app.running and app.stepper.active_path == "0")


async def test_a_learners_wrong_backward_is_warned_in_the_app(app_on, tmp_path, wait_until):
    """The classic slip of exercise 6: db not summed over the batch (scaled instead)."""
    wrong = reference_source().replace("grad_output.sum(axis=0)", "grad_output.mean(axis=0)")
    assert wrong != reference_source(), "the slip must change the reference"
    app = app_on(_learner_stepper(tmp_path, wrong), checkpoint_dir=tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await wait_until(pilot, lambda: not app.running and app.stepper.step == 1)
        checked = [w for w in app.stepper.warnings if w.rule == "backward_check"]
        assert checked and checked[0].target in ("0", "2"), checked
        assert "backward of" in app.main.warnings_panel.text
