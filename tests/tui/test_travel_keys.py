"""The keys of issue 12: jump (go) to step, restart, reload, exact lr, rewind settings, train/eval,
screenshot and export, pressed as a user presses them."""

from __future__ import annotations

import asyncio
import csv
import math
import textwrap

import numpy as np

import scratchai as sa
from scratchai.engine import ExperimentError, Stepper, load_experiment_file
from scratchai.engine.views import recorded
from scratchtui.actions import help_lines, palette_entries
from scratchtui.app import RUN_REFRESH_SECONDS, ScratchApp
from scratchtui.panels import PANELS
from scratchtui.screens.modes import ModesScreen
from scratchtui.screens.prompt import PromptScreen
from scratchtui.widgets.error_panel import ErrorPanel
from scratchtui.widgets.state_strip import StateStrip
from scratchtui.widgets.warnings_panel import WarningsPanel

WIDE = (120, 40)

MODEL = """
import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


def build():
    data = make_clusters(n_samples=200, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, HIDDEN), sa.ReLU(), sa.Linear(HIDDEN, 3))
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name="mine")
"""


def write_model(path, hidden: int | str) -> None:
    path.write_text(textwrap.dedent(MODEL).replace("HIDDEN", str(hidden)))


def strip_text(app) -> str:
    return app.query_one(StateStrip).render_strip().plain


async def type_into_prompt(pilot, *values: str) -> None:
    """Replace each field's text of the prompt on top and press enter after each."""
    for value in values:
        screen = pilot.app.screen
        assert isinstance(screen, PromptScreen)
        screen.focused.value = value
        await pilot.press("enter")
    await pilot.pause()


async def test_j_goes_back_and_forward(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        losses = []
        for _ in range(6):
            await pilot.press("n")
            losses.append(app.stepper.last_step.loss)
        await pilot.press("j")
        await type_into_prompt(pilot, "2")
        await wait_until(pilot, lambda: not app.running)
        assert app.stepper.step == 2 and app.stepper.last_step.loss == losses[1]
        assert "step 2 " in strip_text(app) and "went back to step 2" in app.notices[-1]
        await pilot.press("j")
        await type_into_prompt(pilot, "9")
        await wait_until(pilot, lambda: not app.running)
        assert app.stepper.step == 9 and "trained to step 9" in app.notices[-1]
        assert app.stepper.history.table()[5, 1] == losses[5]  # replayed the same steps


async def test_going_to_another_step_drops_the_reason_the_run_paused(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")  # runs until it converges (step 451) and pauses by itself
        await wait_until(pilot, lambda: not app.running, timeout=60)
        panel = app.query_one(WarningsPanel)
        assert panel.reason_text.startswith("paused: converged")
        await pilot.press("j")
        await type_into_prompt(pilot, "123")
        await wait_until(pilot, lambda: not app.running)
        assert app.stepper.step == 123 and "paused" not in panel.reason_text


async def test_j_refuses_what_is_not_a_step(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("j")
        await type_into_prompt(pilot, "-3")
        assert isinstance(app.screen, PromptScreen) and "steps count from 0" in app.screen.error
        await pilot.press("escape", "escape")  # twice: the second one does nothing
        assert app.screen is app.main and app.stepper.step == 0


async def test_0_restarts_with_the_initial_weights(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        first = app.stepper.model.state_dict()["0.W"].copy()
        await pilot.press("n", "n", "l")
        await pilot.press("0")
        await wait_until(pilot, lambda: not app.running)
        assert app.stepper.step == 0 and not app.stepper.mid_batch
        assert (app.stepper.model.state_dict()["0.W"] == first).all()
        assert "restarted" in app.notices[-1]


async def test_b_presses_add_up_while_a_rewind_replays(app_for, wait_until):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(5):
            await pilot.press("n")
        await pilot.press("b", "b", "b")
        await wait_until(pilot, lambda: not app.running and app.stepper.step == 2)
        await pilot.press("b", "b", "b")
        await wait_until(pilot, lambda: not app.running and app.stepper.step == 0)
        await pilot.press("b")
        assert "nothing left to rewind" in app.notices[-1]


async def test_rewind_keeps_the_advice_it_follows(app_for, wait_until):
    app = app_for("diverge")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running)
        diverged = app.stepper.warnings[-1]
        await pilot.press("0")
        await wait_until(pilot, lambda: not app.running)
        panel = app.query_one(WarningsPanel)
        assert app.stepper.warnings == ()
        assert f"undone step {diverged.step}" in panel.text and diverged.message in panel.text


def file_app(app_on, tmp_path, hidden=16):
    path = tmp_path / "my_model.py"
    write_model(path, hidden)
    sa.manual_seed(0)
    stepper = Stepper(load_experiment_file(path))
    return app_on(stepper, checkpoint_dir=tmp_path, experiment_file=path, seed=0)


async def test_R_reloads_the_edited_file_keeping_lr_and_breakpoints(app_on, tmp_path, wait_until):
    app = file_app(app_on, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n", "left_square_bracket")
        app.stepper.breakpoints.grad_norm_above = 50.0
        old = app.stepper
        write_model(tmp_path / "my_model.py", 24)  # the user edits the file
        await pilot.press("R")
        await wait_until(pilot, lambda: not app.running and app.stepper is not old)
        new = app.stepper
        assert 24 in new.model.state_dict()["0.W"].shape
        assert new.step == 0 and math.isclose(new.lr, 0.05)
        assert new.breakpoints.grad_norm_above == 50.0
        assert (
            "24" in app.main.module_tree.nodes["0.W"].label.plain
        )  # the panels follow the new model
        assert "reloaded" in app.notices[-1]
        await pilot.press("n")
        assert new.step == 1 and app.main.table.row_keys == ("0", "1", "2")
        # the reload's build() was recorded too: the registry view shows the edited model
        registered = recorded(new.model)
        assert registered and any(
            e.registry == "_parameters" and 24 in (e.shape or ()) for e in registered
        ), registered


async def test_R_swaps_the_model_while_the_refresh_ticker_waits(
    app_on, tmp_path, wait_until, monkeypatch
):
    """The reload race (a full run once failed on it with ``NoMatches '#tab-warnings'``): the
    panels are rebuilt for the new model while the reload job still counts as running, so the
    refresh ticker is live. Here the rebuild stops for a few ticks between removing the old
    panels and mounting the new ones: a tick that runs then reads a screen half torn down."""
    ticks: list[bool] = []  # one per tick of the refresh ticker: mid-swap or not
    mid_swap = False
    tick = ScratchApp._tick

    def counted_tick(self) -> None:
        ticks.append(mid_swap)
        tick(self)

    monkeypatch.setattr(ScratchApp, "_tick", counted_tick)
    app = file_app(app_on, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        old = app.stepper
        main = app.main
        mount_all = main.mount_all

        async def slow_mount_all(*args, **kwargs):
            nonlocal mid_swap
            mid_swap = True
            await asyncio.sleep(4 * RUN_REFRESH_SECONDS)  # the old panels are gone by now
            mid_swap = False
            return await mount_all(*args, **kwargs)

        monkeypatch.setattr(main, "mount_all", slow_mount_all)
        write_model(tmp_path / "my_model.py", 24)
        await pilot.press("R")
        await wait_until(pilot, lambda: not app.running and app.stepper is not old, timeout=10)
        assert app.return_code is None  # the app did not fail on a tick
        assert True not in ticks, "the refresh ticker ran while the panels were rebuilt"
        assert "24" in app.main.module_tree.nodes["0.W"].label.plain
        assert "reloaded" in app.notices[-1]


async def test_R_with_a_broken_edit_keeps_the_old_model(app_on, tmp_path, wait_until):
    app = file_app(app_on, tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        old = app.stepper
        write_model(tmp_path / "my_model.py", "undefined_name")
        await pilot.press("R")
        await wait_until(pilot, lambda: not app.running)
        panel = app.query_one(ErrorPanel)
        assert app.stepper is old and old.step == 1
        assert panel.shown and "NameError" in panel.text and "my_model.py" in panel.text
        assert "reload failed" in app.notices[-1]
        await pilot.press("escape", "n")
        assert old.step == 2


async def test_R_on_a_demo_says_it_needs_a_file(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("R")
        assert "scratchtui run FILE" in app.notices[-1]


async def test_L_sets_an_exact_lr(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("L")
        await type_into_prompt(pilot, "0.0123")
        assert app.stepper.lr == 0.0123 and "lr 0.0123" in strip_text(app)
        await pilot.press("L")
        await type_into_prompt(pilot, "fast")
        assert "is not a number" in app.screen.error
        await pilot.press("escape")
        assert app.stepper.lr == 0.0123


async def test_o_changes_the_checkpoint_interval_and_budget(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("o")
        await type_into_prompt(pilot, "5", "2")
        settings = app.stepper.settings
        assert settings.checkpoint_every == 5 and settings.rewind_budget_mb == 2.0
        assert "from the next checkpoint on" in app.notices[-1]
        await pilot.press("o")
        await type_into_prompt(pilot, "5", "auto")
        assert app.stepper.settings.rewind_budget_mb is None


async def test_t_shows_train_and_eval_side_by_side(app_for):
    app = app_for("batchnorm")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("t")
        assert isinstance(app.screen, ModesScreen) and app.screen.modes is None
        await pilot.press("escape", "n", "n", "t")
        screen = app.screen
        assert isinstance(screen, ModesScreen)
        bn = [row for row in screen.rows if "BatchNorm" in row[0] or row[0] == "1"]
        assert bn and any(train != evaluation for _, train, evaluation in screen.rows)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_s_saves_a_screenshot_and_says_where(app_for, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "s")
        files = list((tmp_path / "screenshots").glob("*.svg"))
        assert len(files) == 1 and files[0].read_text().startswith("<svg")
        assert str(files[0]) in app.notices[-1]
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert titles.count("Screenshot") == 1  # ours, not Textual's (~/Downloads)


async def test_x_exports_the_history_and_says_where(app_for, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n", "n", "x")
        path = tmp_path / "exports" / "mlp-step3.csv"
        assert str(path) in app.notices[-1]
        with path.open() as f:
            rows = list(csv.DictReader(f))
        assert [int(float(r["step"])) for r in rows] == [1, 2, 3]
        assert float(rows[-1]["loss"]) == app.stepper.last_step.loss


def test_the_new_keys_are_in_the_help_and_the_palette():
    helped = " ".join(keys for keys, _ in help_lines(PANELS))
    titles = [title for title, _, _ in palette_entries()]
    for key in ("j", "0", "R", "L", "o", "t", "s", "x"):
        assert key in helped.split()
    for title in ("Go to step", "Restart", "Reload model file", "Set learning rate"):
        assert title in titles
    for title in ("Rewind settings", "Train vs eval", "Screenshot", "Export history"):
        assert title in titles


def test_a_failed_reload_leaves_the_random_generators_as_they_were(tmp_path):
    """A reload seeds every generator before it imports the file; when the file does not
    build, the old stepper stays, and so must the draws it goes on with (a rewind replays
    them)."""
    from scratchai.engine.timeline.randomness import capture_random
    from scratchtui.session import Session

    path = tmp_path / "my_model.py"
    write_model(path, 16)
    stepper = Stepper(load_experiment_file(path))
    try:
        stepper.run(max_steps=3)
        # no trainer: rebuild() runs no job (the app calls it from its job thread)
        session = Session(stepper, trainer=None, experiment_file=path, seed=0)  # type: ignore
        path.write_text("def build(:\n")  # the user's edit does not parse
        before = capture_random()
        assert isinstance(session.rebuild(), ExperimentError)
        after = capture_random()
        assert after.library == before.library and after.python == before.python
        assert np.array_equal(after.numpy_global[1], before.numpy_global[1])
    finally:
        stepper.close()
