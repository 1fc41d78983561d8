"""The build-time lints in the app: the warning in the warnings panel, a mark on the module in
the tree, and the calls of modules not registered in the layers table and the flow, marked."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

import scratchai as sa
from scratchai.engine import Stepper, load_experiment_file
from scratchtui.widgets import Inspector, LayerTable, ModuleTree
from scratchtui.widgets.flow import FlowPanel
from scratchtui.widgets.warnings_panel import WarningsPanel

WIDE = (120, 40)
NARROW = (80, 24)
BUGS = Path(__file__).resolve().parents[1] / "engine" / "learner_bugs"
STRAY = "hidden[0] (not registered)"


def stepper(name: str) -> Stepper:
    sa.manual_seed(0)
    return Stepper(load_experiment_file(BUGS / f"{name}.py"))


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


async def test_modules_not_registered_are_warned_marked_and_shown(app_on):
    app = app_on(stepper("plain_list"))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        text = app.query_one(WarningsPanel).text
        assert "hang in `hidden` of Deep, a plain list" in text
        assert "sa.ModuleList" in text
        tree = app.query_one(ModuleTree)
        assert "⚠ hidden: not registered" in tree.root.label.plain
        table = app.query_one(LayerTable)
        assert STRAY in table.row_keys
        assert "not registered" in str(table.get_cell(STRAY, "path"))
        assert str(table.get_cell(STRAY, "type")) == "Linear"
        await pilot.press("f")
        await pilot.pause()
        flow = app.query_one(FlowPanel).text()
        assert "Linear(64 → 64)" in flow and STRAY in flow
        inspector = app.query_one(Inspector)
        inspector.show(STRAY)  # selecting the row: the inspector copes with it
        await pilot.pause()
        shown = plain(inspector.body.content)
        assert "is called in the forward but is not in the model's tree" in shown


async def test_the_lints_warn_and_mark_at_80x24(app_on):
    for name, path, mark, words in [
        ("copied_weight", "branch_b", "W: a copy", "a copy, not an alias"),
        ("scalar_bias", "fc1", "b: broadcast", "it probably should be (64,)"),
        ("constant_init", "0", "W: identical units", "all 64 units of '0' are identical"),
    ]:
        app = app_on(stepper(name))
        async with app.run_test(size=NARROW) as pilot:
            await pilot.press("n")
            await pilot.pause()
            assert words in app.query_one(WarningsPanel).text, name
            assert f"⚠ {mark}" in app.query_one(ModuleTree).nodes[path].label.plain, name


async def test_R_reloads_and_the_lints_run_again(app_on, tmp_path, wait_until):
    path = BUGS / "plain_list.py"
    app = app_on(stepper("plain_list"), checkpoint_dir=tmp_path, experiment_file=path, seed=0)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        old = app.stepper
        assert [w.rule for w in old.warnings] == ["unregistered_modules"]
        await pilot.press("R")
        await wait_until(pilot, lambda: not app.running and app.stepper is not old)
        await pilot.press("n")
        await wait_until(pilot, lambda: not app.running and app.stepper.step == 1)
        assert [w.rule for w in app.stepper.warnings] == ["unregistered_modules"]
        assert STRAY in app.main.table.row_keys
        assert "hang in `hidden` of Deep" in app.query_one(WarningsPanel).text
