"""``c`` in the app judges "loss at init" on the number the init-loss rule judged: step 1's
loss, the run's own once it has trained (issue 22, item 5)."""

from __future__ import annotations

from scratchtui.screens.check import CheckScreen

WIDE = (120, 40)


async def test_c_after_training_judges_step_ones_own_loss(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        app.stepper.run(max_steps=60)
        first = app.stepper.views.first_loss()
        assert first is not None and first > 2.0
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        await wait_until(pilot, lambda: screen.checklist is not None, timeout=60)
        init = next(r for r in screen.checklist.results if r.name == "loss at init")
        assert init.passed and init.measured.startswith(f"loss {first:.4g} on the first training")
        assert "(step 1's, training mode)" in init.measured


async def test_train_vs_eval_says_which_weights_it_used(app_for, wait_until):
    from textual.widgets import Label

    from scratchtui.screens.modes import ModesScreen

    app = app_for("batchnorm")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        await wait_until(pilot, lambda: app.stepper.step == 2 and not app.running, timeout=30)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ModesScreen), timeout=30)
        note = str(app.screen.query_one("#modes-weights", Label).render())
        assert note == "Weights: after step 2's update (what step 3 starts from)."
        assert app.screen.query_one("Vertical").border_title.endswith("the batch of step 2")
        await pilot.press("escape", "l")  # into step 3's forward: the batch in progress
        await wait_until(pilot, lambda: app.stepper.mid_batch and not app.running, timeout=30)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, ModesScreen), timeout=30)
        note = str(app.screen.query_one("#modes-weights", Label).render())
        assert note.startswith("Weights: step 2's, before this batch's update")
        assert app.screen.query_one("Vertical").border_title.endswith("the batch of step 3")
