"""The diagnostics in the app: the backward check's keys and marks, the pre-flight screen, each
use of a shared weight in the inspector, the new breakpoints."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from rich.console import Console

import scratchai as sa
from scratchai.engine import Stepper, load_experiment_file
from scratchtui.screens.breakpoints import BreakpointsScreen
from scratchtui.screens.check import CheckScreen
from scratchtui.widgets import Inspector, LayerTable, ModuleTree
from scratchtui.widgets.warnings_panel import WarningsPanel

WIDE = (120, 40)
NARROW = (80, 24)
BUGS = Path(__file__).resolve().parents[1] / "engine" / "learner_bugs"


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def label(tree: ModuleTree, path: str) -> str:
    return tree.nodes[path].label.plain


async def test_a_wrong_backward_is_marked_and_warned_on_the_first_step(app_on):
    sa.manual_seed(0)
    app = app_on(Stepper(load_experiment_file(BUGS / "relu_no_mask.py")))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        tree = app.query_one(ModuleTree)
        assert "✗ backward wrong" in label(tree, "1") and "✓" in label(tree, "0")
        table = app.query_one(LayerTable)
        assert table.get_cell("1", "type").plain == "✗MyReLU"
        assert table.get_cell("0", "type").plain == "Linear"
        text = app.query_one(WarningsPanel).text
        assert "backward of '1' (MyReLU) is wrong" in text and "ignores the mask" in text
        assert "backward of '1' (MyReLU) is wrong" in app.notices[-1]  # said at once, too


async def test_g_checks_the_selected_module_and_G_every_module(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        inspector = app.query_one(Inspector)
        inspector.show("2.W")  # a parameter: its module is checked
        await pilot.press("g")
        await pilot.pause()
        assert set(app.stepper.backward_checks) == {"2"}
        assert "backward check passed: '2'" in app.notices[-1]
        inspector.show("2")
        await pilot.pause()
        assert "backward check ok" in plain(inspector.body.content)
        await pilot.press("G")
        await pilot.pause()
        assert set(app.stepper.backward_checks) == {"0", "1", "2"}
        assert "all 3 modules" in app.notices[-1]
        assert "✓" in label(app.query_one(ModuleTree), "1")


async def test_c_shows_the_pre_flight_checks_and_esc_closes(app_for, wait_until):
    app = app_for("digits")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        await wait_until(pilot, lambda: screen.checklist is not None)
        assert "[pass] overfit one batch" in screen.text
        assert "[pass] input-independent baseline" in screen.text
        assert app.stepper.step == 0  # nothing trained
        await pilot.press("escape", "escape")  # twice: dismissed once
        assert not isinstance(app.screen, CheckScreen)


async def test_the_checks_after_training_judge_the_initial_weights(app_for, wait_until):
    """'loss at init' after 300 steps is the untrained model's loss, not the trained one's."""
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        app.stepper.run(max_steps=300)
        trained = app.stepper.last_step.loss
        weights = app.stepper.model.state_dict()["0.W"].copy()
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        await wait_until(pilot, lambda: screen.checklist is not None, timeout=30)
        assert "on the initial weights" in str(screen.query_one("VerticalScroll").border_title)
        init = next(r for r in screen.checklist.results if r.name == "loss at init")
        at_init = float(init.measured.split()[1])
        assert trained < 0.5 < 2.0 < at_init  # ln(10) = 2.3 for an unsure classifier
        assert app.stepper.step == 300 and (app.stepper.model.state_dict()["0.W"] == weights).all()


async def test_closing_the_checks_early_stops_them_and_training_goes_on(slow_app, wait_until):
    """The checks run the user's code as the app's job: esc before they end interrupts them
    (no thread keeps training copies behind the user's back) and the next step is the model's
    own, as if no check had run."""
    app = slow_app  # 30 ms a forward: the checks take seconds
    async with app.run_test(size=NARROW) as pilot:
        await pilot.tap("c")
        await pilot.until(lambda: isinstance(app.screen, CheckScreen))
        screen = app.screen
        assert isinstance(screen, CheckScreen)
        await pilot.until(lambda: len(screen.results) == 2)  # data sanity, loss at init
        assert app.trainer.job == "checklist"
        lines = app.screen.query_one("#check-lines")
        await pilot.until(lambda: "running the next check" in str(lines.render()))
        await pilot.tap("escape")
        await pilot.until(lambda: not app.trainer.running)
        assert screen.checklist is None and screen.stopped
        assert not [t for t in threading.enumerate() if t.name == "scratchtui-checklist"]
        assert "pre-flight checks interrupted" in app.notices[-1]
        await pilot.press("n")
        await wait_until(pilot, lambda: app.stepper.step == 1)
        assert app.stepper.last_step is not None and app.stepper.last_step.loss > 0


async def test_the_inspector_of_a_shared_weight_shows_each_owners_gradient(app_for):
    app = app_for("shared")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        inspector = app.query_one(Inspector)
        inspector.show("branch_b.W")
        await pilot.pause()
        text = plain(inspector.body.content)
        assert "gradient by use (step 2):" in text
        assert "branch_a " in text and "branch_b " in text and "sum (the gradient)" in text


async def test_the_breakpoints_dialog_has_a_toggle_per_new_rule(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("k")
        screen = app.screen
        assert isinstance(screen, BreakpointsScreen)
        assert screen.region.contains_region(screen.query_one("#buttons").region)  # fits 80x24
        screen.query_one("#bp-vanishing_gradients").value = True
        await pilot.press("enter")
        screen.action_apply()
        await pilot.pause()
        assert app.stepper.breakpoints.vanishing_gradients
        assert "vanishing_gradients" in app.notices[-1]
