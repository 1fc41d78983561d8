"""Every key of the debugger, pressed as a user presses it, and what it changed."""

from __future__ import annotations

import math
import threading

from scratchai.engine import Breakpoints, State
from scratchtui.actions import help_lines, palette_entries
from scratchtui.panels import PANELS
from scratchtui.screens.breakpoints import TOGGLES, BreakpointsScreen
from scratchtui.screens.help import HelpScreen
from scratchtui.widgets import LayerTable, ModuleTree
from scratchtui.widgets.error_panel import ErrorPanel
from scratchtui.widgets.state_strip import StateStrip
from scratchtui.widgets.warnings_panel import WarningsPanel

WIDE = (120, 40)
NARROW = (80, 24)


def strip_text(app) -> str:
    return app.query_one(StateStrip).render_strip().plain


async def test_n_and_space_train_one_batch_each(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        table = app.query_one(LayerTable)
        assert table.row_keys == ()  # only the "no step yet" hint
        await pilot.press("n")
        assert app.stepper.step == 1 and app.stepper.state is State.UPDATED
        assert "step 1 " in strip_text(app)
        assert table.row_keys == ("0", "1", "2")  # one row per module call, forward order
        await pilot.press("space")  # space trains even though the focused tree binds it
        assert app.stepper.step == 2
        assert "step 2 " in strip_text(app)
        tree = app.query_one(ModuleTree)
        tree.nodes["0"].expand()  # parameter labels show the latest grad norm once unfolded
        await pilot.pause()
        record = app.stepper.last_step
        assert "|g|" in tree.nodes["0.W"].label.plain
        assert app.stepper.views.module_probe("0") == record.modules[0]


async def test_p_walks_the_state_machine(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        seen = []
        for _ in range(5):
            await pilot.press("p")
            seen.append(app.stepper.state)
        assert seen == [
            State.REGISTERED,
            State.FORWARD,
            State.LOSS,
            State.BACKWARD,
            State.UPDATED,
        ]
        assert app.stepper.step == 1
        # the current state is the highlighted one in the strip
        strip = app.query_one(StateStrip).render_strip()
        highlighted = [
            strip.plain[span.start : span.end] for span in strip.spans if "on " in str(span.style)
        ]
        assert highlighted == ["updated"]


async def test_l_steps_one_layer_and_highlights_it(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("p")  # registered
        await pilot.press("l")  # first layer of the forward pass
        await pilot.pause()
        assert app.stepper.active_path == "0"
        assert "forward 0 Linear" in strip_text(app)
        tree, table = app.query_one(ModuleTree), app.query_one(LayerTable)
        assert tree.cursor_node is not None and tree.cursor_node.data.path == "0"
        await pilot.press("l")
        await pilot.pause()
        assert app.stepper.active_path == "1"
        assert tree.cursor_node.data.path == "1"
        # through the rest of the batch: the mark follows and the step completes
        for _ in range(20):
            if app.stepper.step == 1:
                break
            await pilot.press("l")
        assert app.stepper.step == 1 and app.stepper.active_path is None
        await pilot.press("n", "l", "l")  # second batch: the table follows the layer too
        await pilot.pause()
        assert app.stepper.active_path == "1" and table.cursor_row == 1


async def test_e_trains_one_epoch(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("e")
        await wait_until(pilot, lambda: not app.running)
        batches = len(app.stepper.experiment.train_loader)
        assert app.stepper.step == batches
        assert len(app.stepper.epochs) == 1 and app.stepper.epochs[0].val_loss is not None


async def test_r_runs_in_the_background_and_pauses(slow_app, wait_until):
    app = slow_app  # nothing stops it but the user
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        assert app.running
        await wait_until(pilot, lambda: app.stepper.step > 5)
        assert "running" in strip_text(app)
        await pilot.press("n")  # stepping is refused while running, with a notice
        assert any("press r to pause" in n for n in app.notices)
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running)
        step = app.stepper.step
        await pilot.pause(0.2)
        assert app.stepper.step == step and "paused" in strip_text(app)
        assert f"step {step} " in strip_text(app)  # the final step is on screen


async def test_a_run_can_end_while_the_help_is_open(slow_app, wait_until):
    app = slow_app
    app.stepper.breakpoints.at_step = 4  # the run pauses on its own, under the help screen
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("r", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await wait_until(pilot, lambda: not app.running)
        await pilot.pause(0.15)  # a refresh tick while the help is on top
        assert app.stepper.step == 4 and "at_step" in app.notices[-1]
        await pilot.press("escape")
        assert "step 4 " in strip_text(app) and "paused" in strip_text(app)


async def test_b_rewinds_to_the_earlier_loss(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        losses = []
        for _ in range(3):
            await pilot.press("n")
            losses.append(app.stepper.last_step.loss)
        await pilot.press("b")
        assert app.stepper.step == 2 and app.stepper.last_step.loss == losses[1]
        assert "step 2 " in strip_text(app)
        await pilot.press("n")  # the same batch again gives the same loss, bit for bit
        assert app.stepper.last_step.loss == losses[2]
        await pilot.press("b", "b", "b")
        assert app.stepper.step == 0 and app.stepper.last_step is None
        await pilot.press("b")
        assert "nothing left to rewind" in app.notices[-1]


async def test_brackets_change_the_learning_rate(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        lr = app.stepper.lr
        await pilot.press("left_square_bracket")
        assert math.isclose(app.stepper.lr, lr / 2)
        assert f"lr {lr / 2:g}" in strip_text(app)
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert math.isclose(app.stepper.lr, lr * 2)
        await pilot.press("n")
        assert math.isclose(app.stepper.last_step.lr, lr * 2)  # the next update used it


async def test_w_saves_a_checkpoint_and_says_where(app_for, tmp_path):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "w")
        saved = list(tmp_path.glob("*.safetensors"))
        assert len(saved) == 1 and saved[0].stat().st_size > 0
        assert str(saved[0].resolve()) in app.notices[-1]


async def test_question_mark_opens_help_listing_every_key(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        for key, _ in help_lines(PANELS):
            assert f"\n{key}  " in f"\n{text}", key
        await pilot.press("n")  # keys of the main view do nothing under the help
        assert app.stepper.step == 0
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("n")
        assert app.stepper.step == 1


async def test_q_quits(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_q_quits_while_running(slow_app, wait_until):
    app = slow_app
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.stepper.step > 0)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


def engine_threads() -> set[threading.Thread]:
    """The engine's helper threads still alive (an interrupt's timer, while it waits)."""
    return {t for t in threading.enumerate() if t.name.startswith("scratchai-") and t.is_alive()}


async def test_quitting_mid_layer_leaves_nothing_behind(app_for):
    before = engine_threads()
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("l", "l")  # registered, then the forward of module 0 is shown
        await pilot.pause()
        # the pass ran whole in the job thread and is revealed a layer at a time: no thread
        assert app.stepper.mid_batch and app.stepper.active_path == "0"
        assert not engine_threads() - before
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0
    assert not engine_threads() - before


async def test_every_action_is_in_the_command_palette(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in [title for title, _, _ in palette_entries()] + ["Quit"]:  # Quit: Textual's
            assert title in commands, title
        commands["Step batch"].callback()
        await pilot.settle()  # the step runs in the job thread
        assert app.stepper.step == 1


async def test_breakpoints_dialog_toggles_them(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        assert not app.stepper.breakpoints.loss_rose
        await pilot.press("k")
        assert isinstance(app.screen, BreakpointsScreen)
        await pilot.click("#bp-loss_rose")
        await pilot.click("#bp-grad_norm_above")
        await pilot.click("#apply")
        await pilot.pause()
        assert not isinstance(app.screen, BreakpointsScreen)
        bp = app.stepper.breakpoints
        assert bp.loss_rose and bp.grad_norm_above == 100.0 and bp.diverged
        assert "loss_rose" in app.notices[-1]


async def test_breakpoints_dialog_works_from_the_keyboard(app_for):
    app = app_for("diverge")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("k", "space")  # the first box (diverged) has focus: untick it
        assert app.stepper.step == 0  # space ticked the box, it did not train a batch
        # the other on/off boxes (nonfinite, loss_rose, converged, the rules'), the grad norm
        # box, its threshold, Apply
        for _ in range(len(TOGGLES) - 1 + 3):
            await pilot.press("tab")
        await pilot.press("enter")
        assert not isinstance(app.screen, BreakpointsScreen)
        assert not app.stepper.breakpoints.diverged and app.stepper.breakpoints.nonfinite
        await pilot.press("k", "escape")  # escape cancels without changing anything
        assert not app.stepper.breakpoints.diverged


async def test_diverge_run_pauses_names_the_module_and_recovers(app_for, wait_until):
    app = app_for("diverge")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running)
        stepper = app.stepper
        assert stepper.state is State.DIVERGED
        warning = stepper.warnings[-1]
        assert warning.target  # the rule names the parameter with the largest gradient
        assert f"'{warning.target}'" in app.notices[-1]
        panel = app.query_one(WarningsPanel)
        assert "paused: diverged" in panel.text and warning.message in panel.text
        tree = app.query_one(ModuleTree)
        assert tree.has_focus and tree.cursor_node.data.path == warning.target

        # Recover as the lesson says: rewind, lower lr, run on. The weights were already
        # blown up by the first steps at lr 8, so rewind to the start.
        while stepper.step > 0:
            await pilot.press("b")
        for _ in range(5):
            await pilot.press("left_square_bracket")
        assert math.isclose(stepper.lr, 8.0 / 32)
        await pilot.press("r")
        await wait_until(pilot, lambda: stepper.step >= 150 or not app.running)
        if app.running:
            await pilot.press("r")
            await wait_until(pilot, lambda: not app.running)
        assert stepper.step >= 100
        assert stepper.state is not State.DIVERGED and math.isfinite(stepper.last_step.loss)


async def test_diverge_pause_names_the_first_nonfinite_module(app_for, wait_until):
    # Without the "diverged" breakpoint the run goes on until values turn NaN/Inf.
    app = app_for("diverge", Breakpoints(diverged=False))
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(5):  # each r runs to the next breakpoint (one step once non-finite)
            await pilot.press("r")
            await wait_until(pilot, lambda: not app.running)
            if any(w.rule == "nonfinite_output" for w in app.stepper.warnings):
                break
        first = next(w for w in app.stepper.warnings if w.rule == "nonfinite_output")
        assert "paused" in app.notices[-1] and f"(at '{first.target}')" in app.notices[-1]
        assert app.query_one(ModuleTree).cursor_node.data.path == first.target
        assert first.message in app.query_one(WarningsPanel).text


async def test_user_model_raising_shows_the_traceback_and_the_app_goes_on(raising_app):
    app = raising_app
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("n", "n")
        assert app.stepper.step == 2
        await pilot.press("n")  # the model raises during this forward
        panel = app.query_one(ErrorPanel)
        assert panel.shown and panel.display
        assert "ValueError: user bug in forward on call 3" in panel.text
        assert "Traceback" in panel.text and "flaky_model.py" in panel.text
        assert app.stepper.step == 2 and "step 2 " in strip_text(app)
        await pilot.press("escape")
        assert not panel.shown
        await pilot.press("n")  # still responding; the model no longer raises
        assert app.stepper.step == 3


async def test_user_model_raising_during_a_run(raising_app, wait_until):
    app = raising_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running)
        assert app.query_one(ErrorPanel).shown
        assert app.stepper.step == 2 and "paused" in strip_text(app)
        await pilot.press("n")
        assert app.stepper.step == 3
