"""What a new user ran into on a first try, pressed as they pressed it: stale numbers while
stepping into a batch, a cut-off layer table, a traceback hiding the tree, 0- and 1-based
epochs, stacked toasts, a clipped help, unreadable checkboxes and a stray scrollbar."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console
from textual.widgets import Checkbox, Footer

from scratchai.engine import State
from scratchtui.screens.breakpoints import BreakpointsScreen
from scratchtui.screens.help import MARKS, SCROLL_HINT, HelpBody, HelpScreen
from scratchtui.widgets import Inspector, LayerTable, LossCharts, ModuleTree
from scratchtui.widgets.error_panel import ErrorPanel
from scratchtui.widgets.format import num, shape
from scratchtui.widgets.layer_table import BACKWARD_MARK, COLUMNS, FORWARD_MARK, fit_path
from scratchtui.widgets.state_strip import StateStrip
from scratchtui.widgets.warnings_panel import WarningsPanel

WIDE = (120, 40)
NARROW = (80, 24)


def strip_text(app) -> str:
    return app.query_one(StateStrip).render_strip().plain


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def cell(table: LayerTable, row: str, column: str) -> str:
    value = table.get_cell(row, column)
    return value.plain if hasattr(value, "plain") else str(value)


def events(app, direction: str, path: str):
    return [e for e in app.stepper.layer_events if e.direction == direction and e.path == path]


# ---------------------------------------------------------------------------- 1. the batch now
async def test_the_strip_shows_this_batchs_loss_between_phases(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        last = app.stepper.last_step.loss
        assert f"loss {num(last)}" in strip_text(app)
        await pilot.press("p")  # forward of batch 2: no loss of its own yet
        assert app.stepper.state is State.FORWARD
        assert f"loss {num(last)} (step 1)" in strip_text(app)
        await pilot.press("p")  # its loss phase ran
        now = app.stepper.batch_loss
        assert now is not None and num(now) != num(last)
        assert f"loss {num(now)} (this batch)" in strip_text(app)
        await pilot.press("p")  # backward: still this batch's
        assert f"loss {num(now)} (this batch)" in strip_text(app)
        await pilot.press("p")  # updated: the step is done, its loss is the last step's
        assert app.stepper.step == 2
        assert f"loss {num(app.stepper.last_step.loss)}" in strip_text(app)
        assert "this batch" not in strip_text(app)


async def test_the_layer_table_shows_the_layers_that_ran_in_this_batch(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(LayerTable)
        await pilot.press("n")
        old = app.stepper.last_step.modules
        await pilot.press("l")  # batch 2, forward through module 0
        await pilot.pause()
        (forward,) = events(app, "forward", "0")
        assert cell(table, "0", "path") == f"{FORWARD_MARK}0"
        assert cell(table, "0", "mean") == num(forward.stats.mean, 7) != num(old[0].output.mean, 7)
        assert cell(table, "0", "std") == num(forward.stats.std, 7)
        assert cell(table, "0", "shape") == shape(forward.output_shape)
        assert cell(table, "0", "grad") == num(old[0].grad_norm, 7)  # only known after update
        # module 1 has not run yet: the last step's numbers, unmarked
        assert cell(table, "1", "path") == " 1"
        assert cell(table, "1", "mean") == num(old[1].output.mean, 7)
        assert FORWARD_MARK in table.border_subtitle

        while not events(app, "backward", "2"):  # on to the gradient of the last layer
            await pilot.press("l")
        await pilot.pause()
        assert cell(table, "2", "path") == f"{BACKWARD_MARK}2"
        assert cell(table, "1", "path") == f"{FORWARD_MARK}1"
        # the gradient of module 2's parameters exists now: this batch's norm, not the last step's
        layer = app.stepper.model[2]
        norm = float(np.sqrt((layer.W.grad**2).sum() + (layer.b.grad**2).sum()))
        (backward,) = events(app, "backward", "2")
        assert backward.grad_norm == pytest.approx(norm, rel=1e-5)
        assert cell(table, "2", "grad") == num(backward.grad_norm, 7)
        assert cell(table, "0", "grad") == num(old[0].grad_norm, 7)  # not reached yet
        assert BACKWARD_MARK in table.border_subtitle

        while app.stepper.step < 2:  # the update: every row is the new step's, unmarked
            await pilot.press("l")
        await pilot.pause()
        new = app.stepper.last_step.modules
        for i, key in enumerate(("0", "1", "2")):
            assert cell(table, key, "path") == f" {key}"
            assert cell(table, key, "mean") == num(new[i].output.mean, 7)
        assert table.border_subtitle == ""


async def test_stepping_phases_marks_every_layer_of_the_pass(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(LayerTable)
        await pilot.press("n", "p")  # the whole forward of batch 2
        await pilot.pause()
        for key in ("0", "1", "2"):
            (forward,) = events(app, "forward", key)
            assert cell(table, key, "path") == f"{FORWARD_MARK}{key}"
            assert cell(table, key, "mean") == num(forward.stats.mean, 7)
        assert FORWARD_MARK in table.border_subtitle
        await pilot.press("p", "p")  # the loss, then the whole backward
        await pilot.pause()
        assert [cell(table, key, "path") for key in ("0", "1", "2")] == [
            f"{BACKWARD_MARK}{key}" for key in ("0", "1", "2")
        ]


async def test_the_inspector_says_why_a_parameter_has_no_gradient_yet(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        inspector = app.query_one(Inspector)
        tree = app.query_one(ModuleTree)
        await pilot.press("n", "n")
        tree.focus()
        tree.nodes["0"].expand()
        await pilot.pause()
        tree.move_cursor(tree.nodes["0.W"])
        await pilot.press("enter")
        await pilot.pause()
        assert inspector.path == "0.W"
        assert "grads  (peak" in plain(inspector.body.content)  # the gradient's histogram
        await pilot.press("b")  # back at step 1, replayed: step 1's gradient is there again
        await pilot.pause()
        assert "grads  (peak" in plain(inspector.body.content)
        await pilot.press("p", "p")  # registered... a new batch: zero_grad, then its forward
        await pilot.pause()
        text = plain(inspector.body.content)
        assert "none since the last zero_grad" in text and "grads  (peak" not in text
        await pilot.press("n")
        await pilot.pause()
        assert "none since the last zero_grad" not in plain(inspector.body.content)


async def test_the_first_batch_fills_the_layer_table_as_it_steps(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(LayerTable)
        await pilot.press("l", "l")  # registered, then the forward of module 0
        await pilot.pause()
        assert table.row_keys == ("0",)
        (forward,) = events(app, "forward", "0")
        assert cell(table, "0", "mean") == num(forward.stats.mean, 7)
        assert cell(table, "0", "type") == "Linear"
        await pilot.press("l")
        await pilot.pause()
        assert table.row_keys == ("0", "1") and cell(table, "1", "type") == "ReLU"


async def test_stepping_layers_keeps_the_inspected_module_and_shows_its_batch(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        inspector = app.query_one(Inspector)
        await pilot.press("n")
        await pilot.press("down", "down", "down", "enter")  # the user inspects module 2
        await pilot.pause()
        assert inspector.path == "2"
        await pilot.press("l", "l")  # modules 0 and 1 run: marked in the tree, not inspected
        await pilot.pause()
        assert app.stepper.active_path == "1"
        assert app.query_one(ModuleTree).cursor_node.data.path == "1"
        assert inspector.path == "2"
        assert "this batch" not in plain(inspector.body.content)
        await pilot.press("l")  # module 2 runs: the inspector shows its new forward
        await pilot.pause()
        assert inspector.path == "2"
        (forward,) = events(app, "forward", "2")
        text = plain(inspector.body.content)
        assert "this batch (in progress)" in text
        assert f"mean {num(forward.stats.mean, 7)}" in text
        assert "last step (step 1)" in text
        while not events(app, "backward", "2"):
            await pilot.press("l")
        await pilot.pause()
        assert "grad to input" in plain(inspector.body.content)


# ---------------------------------------------------------------------------- 2, 8. the table fits
async def test_every_column_fits_at_120x40_without_a_scrollbar(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        table = app.query_one(LayerTable)
        assert [key for key, _, _ in COLUMNS][:2] == ["path", "type"]
        assert table.max_scroll_x == 0, "no sideways scrolling needed"
        assert table.scrollbars_enabled == (False, False), "no stray scrollbar"
        assert table.region.right <= app.size.width
        tree = app.query_one(ModuleTree)
        assert tree.region.width <= 0.36 * app.size.width
        assert "Linear(128, 64)" in tree.nodes["0"].label.plain  # bias=True is the default
        # the module labels fit in the narrower left column, and so do the parameters' labels
        # with their grad norm once unfolded
        assert tree.max_scroll_x == 0
        tree.nodes["0"].expand()
        await pilot.pause()
        assert "|g| " in tree.nodes["0.W"].label.plain and tree.max_scroll_x == 0


async def test_the_layers_view_fits_at_80x24(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("n", "2")
        await pilot.pause()
        table = app.query_one(LayerTable)
        assert table.max_scroll_x == 0 and table.scrollbars_enabled == (False, False)


# ---------------------------------------------------------------------------- 3. failures
async def test_a_failed_step_leaves_the_tree_in_view_and_a_log_entry(raising_app):
    app = raising_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n", "n")
        panel = app.query_one(ErrorPanel)
        assert panel.shown and panel.region.height <= app.size.height // 3 + 1
        tree = app.query_one(ModuleTree)
        assert tree.region.height >= 8 and "1" in tree.nodes  # the raising module is listed
        warnings = app.query_one(WarningsPanel)
        line = (
            "step 3 failed during forward of module '1' (Flaky): "
            "ValueError: user bug in forward on call 3"
        )
        assert line in warnings.text
        # the backward check before step 1 met the same bug on its copy, and says so
        assert "the backward check of '1' (Flaky) could not finish" in warnings.text
        assert "warnings (2)" in str(app.main.tabs.query_one("#tab-warnings").label)
        await pilot.press("escape")
        assert not panel.shown and line in warnings.text  # the log keeps it
        warnings.list.focus()
        await pilot.press("enter")  # selecting it shows the traceback again
        await pilot.pause()
        assert panel.shown and "flaky_model.py" in panel.text


async def test_a_failed_step_at_80x24_keeps_room_for_the_tree(raising_app):
    app = raising_app
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("n", "n", "n")
        panel = app.query_one(ErrorPanel)
        assert panel.shown and 5 <= panel.region.height <= 8
        assert app.query_one(ModuleTree).region.height >= 8


# ---------------------------------------------------------------------------- 4. epochs
async def test_epochs_are_one_based_in_the_strip_and_the_charts(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        assert "epoch 1 " in strip_text(app)
        await pilot.press("e")
        await wait_until(pilot, lambda: not app.running)
        batches = len(app.stepper.experiment.train_loader)
        assert app.stepper.epochs[0].epoch == 0  # the engine counts from 0
        assert f"epoch 1  batch {batches}/{batches}" in strip_text(app)
        charts = app.query_one(LossCharts)
        assert "epoch 1" in charts._validation(100).plain
        await pilot.press("n")
        assert "epoch 2  batch 1/" in strip_text(app)


# ---------------------------------------------------------------------------- 5. toasts
async def test_routine_toasts_replace_each_other(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.press(*"nnnnnn")
        await pilot.press(*"bbbbb")
        await pilot.pause()
        assert app.stepper.step == 1
        assert len(app.screen.query("Toast")) == 1
        assert "rewound to step 1" in app.notices[-1]


async def test_a_pause_notice_stays_while_routine_ones_come_and_go(app_for, wait_until):
    app = app_for("diverge")
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running)
        assert app.stepper.state is State.DIVERGED
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
        await pilot.pause()
        toasts = list(app.screen.query("Toast"))
        assert len(toasts) == 2
        assert toasts[0].has_class("-warning")  # the pause, still on screen
        assert "paused" in app.notices[-2] and "lr" in app.notices[-1]


# ---------------------------------------------------------------------------- 6. help and k
async def test_help_fits_80x24_or_says_it_scrolls(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        body = app.screen.query_one(HelpBody)
        # everything in view, or the hint says what is below (the keys of issue 12 take the
        # help two lines past 80x24, the marks of issue 22 one line each more)
        assert body.max_scroll_y <= 3 + len(MARKS)
        assert body.border_subtitle == (SCROLL_HINT if body.max_scroll_y else "")
        assert app.screen.region.contains_region(body.region)
    app = app_for("mlp")
    async with app.run_test(size=(80, 16)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        body = app.screen.query_one(HelpBody)
        assert isinstance(app.screen, HelpScreen) and body.max_scroll_y > 0
        assert body.border_subtitle == SCROLL_HINT
        await pilot.press("end")
        await pilot.pause()
        assert body.border_subtitle == ""


async def test_k_is_in_the_footer_when_there_is_room(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        keys = [k.key_display or k.key for k in app.query_one(Footer).query("FooterKey")]
        assert "k" in keys
        await pilot.press("k")
        assert isinstance(app.screen, BreakpointsScreen)
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.pause()
        footer = [k.key_display or k.key for k in app.query_one(Footer).query("FooterKey")]
        assert "k" not in footer and "q" in footer  # no room: the help lists it instead
        await pilot.press("k")  # but the key still works
        assert isinstance(app.screen, BreakpointsScreen)


# ---------------------------------------------------------------------------- 7. checkboxes
async def test_breakpoint_boxes_say_on_or_off_in_words(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("k")
        box = app.screen.query_one("#bp-diverged", Checkbox)
        assert str(box.label).startswith("on ")
        assert str(app.screen.query_one("#bp-loss_rose", Checkbox).label).startswith("off")
        await pilot.press("space")  # the first box has focus: untick it
        await pilot.pause()
        assert not box.value and str(box.label).startswith("off")
        await pilot.press("space")
        await pilot.pause()
        assert box.value and str(box.label).startswith("on ")


async def test_sibling_paths_stay_apart_in_the_layer_table(app_for):
    app = app_for("shared")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        table = app.query_one(LayerTable)
        # whole when there is room (issue 12); cut, a name keeps its distinguishing end
        assert cell(table, "branch_a", "path") == " branch_a"
        assert cell(table, "branch_b", "path") == " branch_b"
        assert fit_path("branch_a", 9) == "…anch_a"
        # the tree's folded labels (root counts, "<-> W" on both owners) fit without scrolling
        tree = app.query_one(ModuleTree)
        assert "4,810 naive" in tree.root.label.plain and tree.max_scroll_x == 0
