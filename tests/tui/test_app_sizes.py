"""The layout at the two sizes the issue names: usable at 80x24, comfortable at 120x40."""

from __future__ import annotations

import pytest
from textual.widgets import Footer, Tabs

from scratchtui.actions import footer_keys as table_footer_keys
from scratchtui.panels import PANELS as REGISTRY
from scratchtui.widgets import Inspector, ModuleTree
from scratchtui.widgets.error_panel import ErrorPanel
from scratchtui.widgets.state_strip import StateStrip

WIDE = (120, 40)
NARROW = (80, 24)
PANELS = tuple(f"#{spec.id}" for spec in REGISTRY)  # in tab order


def visible_inside(app, selector: str, min_height: int = 3) -> bool:
    """Displayed, not squashed, and entirely on screen."""
    widget = app.query_one(selector)
    region, screen = widget.region, app.screen.region
    return (
        widget.display
        and region.height >= min_height
        and region.width >= 20
        and screen.contains_region(region)
    )


def footer_keys(app) -> dict[str, bool]:
    """Each footer key -> whether it is drawn entirely inside the terminal."""
    width = app.size.width
    return {
        key.key_display or key.key: key.region.right <= width and key.region.width > 0
        for key in app.query_one(Footer).query("FooterKey")
    }


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "120x40"])
async def test_header_strip_and_footer_fit(app_for, size):
    app = app_for("mlp")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        assert app.sub_title == "8,906 params (naive 8,906)"
        assert "mlp" in app.title
        lines = app.query_one(StateStrip).render_strip().plain.splitlines()
        strip_width = app.query_one(StateStrip).content_size.width
        assert lines[0].endswith("diverged") and len(lines[0]) <= strip_width
        assert "step 1" in lines[1] and "loss" in lines[1] and len(lines[1]) <= strip_width
        keys = footer_keys(app)
        for key in table_footer_keys(narrow=True):
            assert keys.get(key), f"footer key {key!r} missing or cut off at {size}"


async def test_wide_shows_every_panel_at_once(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        assert not app.main.narrow and not app.query_one(Tabs).display
        for selector in PANELS:
            assert visible_inside(app, selector), selector
        assert visible_inside(app, "#inspector", min_height=12)  # room for the histograms


async def test_narrow_shows_one_panel_chosen_with_tabs(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("n")
        assert app.main.narrow and app.query_one(Tabs).display
        for key, selector in zip((spec.key for spec in REGISTRY), PANELS, strict=True):
            await pilot.press(key)
            assert visible_inside(app, selector, min_height=10), selector
            assert app.query_one(selector).region.width == app.size.width, "the whole width"
            others = [s for s in PANELS if s != selector]
            assert not any(app.query_one(s).region.area for s in others), selector


async def test_narrow_selecting_a_module_opens_the_inspector(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        await pilot.press("n")
        tree = app.query_one(ModuleTree)
        assert tree.has_focus
        await pilot.press("down", "enter")  # the first child of the model: module '0'
        await pilot.pause()
        assert app.main.view == "inspect" and app.query_one(Inspector).path == "0"
        assert visible_inside(app, "#inspector", min_height=10)


async def test_resizing_switches_the_layout(app_for):
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        assert app.main.narrow
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert not app.main.narrow
        for selector in PANELS:
            assert visible_inside(app, selector), selector
        await pilot.resize_terminal(*NARROW)
        await pilot.pause()
        assert app.main.narrow and visible_inside(app, "#tree", min_height=10)


async def test_shared_demo_header_counts_naive_and_deduplicated(app_for):
    app = app_for("shared")
    async with app.run_test(size=NARROW):
        unique, naive = app.stepper.num_parameters
        assert naive > unique
        assert app.sub_title == f"{unique:,} params (naive {naive:,})"


@pytest.mark.parametrize("size", [NARROW, WIDE], ids=["80x24", "120x40"])
async def test_traceback_fits_on_screen(raising_app, size):
    app = raising_app
    async with app.run_test(size=size) as pilot:
        await pilot.press("n", "n", "n")
        panel = app.query_one(ErrorPanel)
        assert panel.shown
        assert app.screen.region.contains_region(panel.region) and panel.region.height >= 5
        # the panels above it stay usable
        assert visible_inside(app, "#tree", min_height=3)
