"""Issue 22, item 3: stable screens at 80x24, 120x40 and 200x60. Panel heights do not jump as
the content changes; the inspector keeps its height when the flow opens it; no header or name
is cut where there is room; the footer leads with the most used keys; one help explains the
marks, and the palette's "Keys" is that help."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Footer

from scratchtui.screens.help import HelpScreen
from scratchtui.screens.modes import ModesScreen
from scratchtui.widgets import LayerTable, ModuleTree
from scratchtui.widgets.state_strip import StateStrip

SIZES = [(80, 24), (120, 40), (200, 60)]
IDS = ["80x24", "120x40", "200x60"]


def heights(app) -> dict[str, tuple[int, int]]:
    """Each panel's (top, height) on screen (0, 0 when hidden in a narrow terminal)."""
    return {name: (w.region.y, w.region.height) for name, w in app.main.panels.items()}


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_panel_heights_hold_still_as_the_content_changes(app_for, wait_until, size):
    """From before the first step, through layers revealed one by one, steps, a run into a
    divergence (warnings, the pause's reason) and a rewind: the same layout throughout."""
    app = app_for("diverge")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        first = heights(app)
        if size != (80, 24):
            assert all(h >= 5 for _, h in first.values()), first
        seen = {"start": first}
        for label, keys in [
            ("layers revealed", ["l", "l", "l"]),
            ("a step", ["n"]),
            ("more steps", ["n", "n"]),
        ]:
            await pilot.press(*keys)
            await pilot.pause()
            seen[label] = heights(app)
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.running, timeout=20)
        assert app.stepper.warnings  # the warnings panel fills, the pause says why
        await pilot.pause()
        seen["diverged, warnings listed"] = heights(app)
        await pilot.press("b")
        await wait_until(pilot, lambda: not app.running)
        await pilot.pause()
        seen["rewound"] = heights(app)
        for label, layout in seen.items():
            assert layout == first, (size, label, layout, first)


@pytest.mark.parametrize("size", [(120, 40), (100, 30)], ids=["120x40", "100x30"])
async def test_the_inspector_keeps_its_height_when_the_flow_opens_it(app_for, size):
    app = app_for("mlp")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n", "f")
        await pilot.pause()
        before = app.main.inspector.region.height
        await pilot.press("enter")  # the flow's selected call in the inspector
        await pilot.pause()
        inspector, flow = app.main.inspector.region, app.main.panels["flow"].region
        assert inspector.height >= (12 if size == (120, 40) else 7), inspector
        assert inspector.height >= before
        assert flow.height >= 5 and flow.bottom <= app.screen.region.bottom - 1, flow


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_layer_tables_headers_and_names_are_whole(app_for, size):
    app = app_for("shared")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        if app.main.narrow:
            await pilot.press("2")
        await pilot.pause()
        table = app.query_one(LayerTable)
        assert sum(table.widths.values()) <= table.size.width, (table.widths, table.size)
        assert table.scroll_x == 0 and table.max_scroll_x == 0
        headers = [str(c.label) for c in table.columns.values()]
        assert headers[-1] == "nan/inf"


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_tree_names_the_other_owner_of_a_shared_weight_whole(app_for, size):
    app = app_for("shared")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        tree = app.query_one(ModuleTree)
        for owner in ("branch_a", "branch_b"):
            tree.nodes[owner].expand()
        await pilot.pause()
        room = tree.scrollable_content_region.width
        for weight, other in (("branch_a.W", "branch_b.W"), ("branch_b.W", "branch_a.W")):
            node = tree.nodes[weight]
            line = tree.render_line(node.line - round(tree.scroll_y)).text
            assert f"<-> {other}" in line[:room], (size, line)


async def test_the_status_line_fits_80_columns_mid_batch(app_for):
    """Stepping layers into the backward of the shared demo: the longest line two."""
    app = app_for("shared")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        strip = app.query_one(StateStrip)
        width = strip.content_size.width
        for _ in range(9):
            await pilot.press("l")
            second = strip.render_strip().split("\n")[1]
            assert second.cell_len <= width, second.plain
            assert "paused" in second.plain
            if app.stepper.active_path:
                assert app.stepper.active_path in second.plain, second.plain


async def test_train_vs_eval_fits_80x24(app_for):
    app = app_for("batchnorm")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "t")
        await pilot.pause()
        assert isinstance(app.screen, ModesScreen)
        table = app.screen.query_one(DataTable)
        assert table.region.right <= 80 and table.max_scroll_x == 0, table.region
        headers = [str(c.label) for c in table.columns.values()]
        assert headers[-2:] == ["train d/s", "eval d/s"]


async def test_the_footer_leads_with_the_most_used_keys_at_80_columns(app_for):
    app = app_for("mlp")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = [
            key.key_display
            for key in app.query_one(Footer).query("FooterKey")
            if key.region.right <= 80 and key.region.width
        ]
        assert shown[:6] == ["n", "p", "l", "e", "r", "b"], shown
        assert "?" in shown and "q" in shown


async def test_help_explains_the_marks_and_the_palette_keys_are_the_same_help(app_for):
    app = app_for("shared")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.text
        assert "✓ / ✗" in text and "finite differences" in text
        assert "naive" in text and "counted per owner" in text
        await pilot.press("escape")
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        commands["Keys"].callback()
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert app.screen.text == text
