"""The smaller items of issue 12: every l press shows a change, the tree says which step its
|g| is from mid-batch, a failed step's traceback is not covered by a notice."""

from __future__ import annotations

import itertools

from scratchtui.widgets import ModuleTree
from scratchtui.widgets.error_panel import ErrorPanel
from scratchtui.widgets.state_strip import StateStrip

WIDE = (120, 40)


async def test_every_l_press_changes_the_strip(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "p")  # step 1 done; registered -> the next batch starts
        strip = app.query_one(StateStrip)
        seen = [strip.render_strip().plain]
        for _ in range(9):  # three forwards, loss, three backwards, the ends of the passes
            await pilot.press("l")
            seen.append(strip.render_strip().plain)
        assert all(a != b for a, b in itertools.pairwise(seen)), seen
        assert any("forward done, next: loss" in s for s in seen)
        assert any("backward done, next: update" in s for s in seen)


async def test_the_tree_says_which_step_its_gradients_are_from_mid_batch(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        tree = app.query_one(ModuleTree)
        assert tree.border_subtitle == ""
        await pilot.press("p", "p")
        assert app.stepper.mid_batch and tree.border_subtitle == "|g|: step 2"
        await pilot.press("n")
        assert tree.border_subtitle == ""


async def test_a_failed_step_leaves_its_traceback_uncovered(raising_app):
    app = raising_app
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n", "n")
        assert app.query_one(ErrorPanel).shown
        assert not app._notifications, "a toast would cover the traceback"


async def test_e_from_a_diverged_step_says_why_it_stops_at_once(app_for, wait_until):
    app = app_for("diverge")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running)
        await pilot.press("n", "n", "b")
        await wait_until(pilot, lambda: not app.running)
        step = app.stepper.step
        await pilot.press("left_square_bracket", "e")
        await wait_until(pilot, lambda: not app.running)
        assert app.stepper.step == step + 1
        assert f"held at step {step} already" in app.notices[-1]
