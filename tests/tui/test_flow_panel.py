"""The flow panel: f shows the lesson's flowchart, l moves its highlight call by call, and
enter on a call inspects that call (the second call of a reused module included)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

from rich.console import Console

import scratchai as sa
from scratchai.engine import Stepper
from scratchtui.app import ScratchApp
from scratchtui.widgets import Inspector
from scratchtui.widgets.flow import FlowPanel
from scratchtui.widgets.format import num

WIDE = (120, 40)
NARROW = (80, 24)
ROOMY = (200, 60)
MODELS = Path(__file__).resolve().parents[1] / "models" / "flow_models.py"
LESSON = (
    "(batch, 128)",
    "X @ W + b",
    "W:(128,64)",
    "b:(64,)",
    "128 weights/neuron",
    "max(0, x)",
    "(batch, 10)",
    "Logits out",
    "softmax + cross-entropy",
)


def plain(*renderables, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    for renderable in renderables:
        console.print(renderable)
    return console.export_text()


def panel_text(panel: FlowPanel) -> str:
    """What the panel's options say, as plain text."""
    return panel.text()


def twice_app(tmp_path: Path) -> ScratchApp:
    spec = importlib.util.spec_from_file_location("flow_models", MODELS)
    assert spec is not None and spec.loader is not None
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    sa.manual_seed(0)
    return ScratchApp(Stepper(models.load("twice")), checkpoint_dir=tmp_path)


async def test_f_after_one_batch_shows_the_lessons_flowchart(app_for):
    for size in (NARROW, WIDE, ROOMY):
        app = app_for("mlp")
        async with app.run_test(size=size) as pilot:
            await pilot.press("n", "f")
            await pilot.pause()
            panel = app.query_one(FlowPanel)
            assert panel.has_focus and panel.region.height > 0, size
            text = panel_text(panel)
            for expected in LESSON:
                assert expected in text, (size, expected)
            if size == NARROW:
                assert app.main.view == "flow"


async def test_the_flows_subtitle_says_where_the_batch_is(app_for):
    app = app_for("mlp")
    async with app.run_test(size=ROOMY) as pilot:
        panel = app.query_one(FlowPanel)
        said = []
        for key in ("n", "l", "l", "l", "p", "l", "l", "p"):
            await pilot.press(key)
            await pilot.pause()
            said.append(str(panel.border_subtitle))
        forward, back = "▸ forward in progress", "◂ gradient flowing back"
        assert [line.split(":")[0] for line in said] == [
            "step 1",
            *[forward] * 3,  # three layers, paused after each
            "▸ forward done, loss next",  # p ends the phase
            "loss computed, backward next",  # l steps over the loss, which has no layers
            back,
            "◂ backward done, update next",
        ]


async def test_the_flow_uses_the_room_it_has(app_for):
    app = app_for("mlp")
    async with app.run_test(size=ROOMY) as pilot:
        await pilot.press("n")
        await pilot.pause()
        panel = app.query_one(FlowPanel)
        # beside the right column's panels, the whole height, wide enough for every box
        assert panel.region.height > 40 and panel.region.width >= 60
        assert app.main.table.region.width >= 78
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        small = app.query_one(FlowPanel).region.height
        await pilot.press("f")  # focused, it grows
        await pilot.pause()
        assert app.query_one(FlowPanel).region.height > small


async def test_l_moves_the_highlight_call_by_call(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "f")
        panel = app.query_one(FlowPanel)
        assert panel.active is None
        await pilot.press("l")  # the next batch's first layer
        seen = []
        for _ in range(3):
            await pilot.pause()
            seen.append((panel.active, panel.highlighted))
            assert "just ran" in panel_text(panel)
            await pilot.press("l")
        assert seen == [(0, 1), (1, 2), (2, 3)]  # option 0 is the input


async def test_enter_on_the_second_call_inspects_the_second_call(tmp_path):
    app = twice_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "f")
        await pilot.pause()
        panel = app.query_one(FlowPanel)
        assert "call 2 of 2" in panel_text(panel)
        second = next(n for n in panel.flow.nodes if n.path == "block" and n.call == 2)
        panel.highlighted = second.index + 1
        await pilot.press("enter")
        await pilot.pause()
        inspector = app.query_one(Inspector)
        assert (inspector.path, inspector.call) == ("block", 2)
        assert panel.highlighted == second.index + 1  # the cursor stays on the second call
        probe = app.stepper.views.module_probe("block", 2)
        shown = plain(inspector.body.content)
        assert "call 2 of 2" in shown
        assert probe is not None and f"{probe.output.std:.4g}"[:5] in shown


async def test_the_layer_tables_second_row_of_a_reused_module_inspects_its_call(tmp_path):
    app = twice_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        table = app.main.table
        shown = [str(table.get_cell_at((i, 0))) for i in range(table.row_count)]
        assert any("block #1" in c for c in shown) and any("block #2" in c for c in shown)
        table.focus()
        table.move_cursor(row=table.row_keys.index("block#2"))
        await pilot.press("enter")
        await pilot.pause()
        assert (app.query_one(Inspector).path, app.query_one(Inspector).call) == ("block", 2)
        assert table.row_keys[table.cursor_row] == "block#2"  # it stays on the second row


async def test_a_step_redraws_the_pieces_on_screen_and_the_rest_when_scrolled_to(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        await pilot.pause()
        panel = app.query_one(FlowPanel)
        last = panel.option_count - 1
        assert last in panel._stale  # the loss is below the strip: not redrawn yet
        panel.scroll_end(animate=False)
        await pilot.pause()
        assert last not in panel._stale
        loss = panel.get_option_at_index(last).prompt.renderable
        assert num(app.stepper.last_step.loss) in plain(loss)
