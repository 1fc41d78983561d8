"""The actions table and the panel registry: every row is carried out, fits, and is consistent
with the engine's remedy actions; a remedy shows the key that carries it out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from textual.app import App, ComposeResult
from textual.widget import Widget
from textual.widgets import Footer

from scratchai.engine import REMEDY_ACTIONS, Remedy, RuleWarning, Severity
from scratchtui.actions import (
    ACTIONS,
    MAIN_VIEW_ACTIONS,
    REMEDY_KEYS,
    WIDE_ONLY,
    bindings,
    footer_keys,
    help_lines,
    palette_entries,
)
from scratchtui.app import ScratchApp
from scratchtui.panels import COLUMNS, PANELS
from scratchtui.screens.main import MainScreen
from scratchtui.widgets.panel import Panel
from scratchtui.widgets.warnings_panel import WarningsPanel, warning_text

#: The help box at 80 columns: border and padding leave 76 columns inside.
HELP_WIDTH = 76


def test_every_bound_action_has_a_method_on_the_app():
    """On its owner: the main screen (its footer's and panels' keys) or the app."""
    owners = {"main": MainScreen, "app": ScratchApp}
    for row in ACTIONS:
        if row.bound:
            owner = owners[row.owner]
            assert callable(getattr(owner, f"action_{row.name}", None)), row.action
            assert row.main_view or row.owner == "app", row.action  # works over a dialog
    assert callable(getattr(MainScreen, f"action_{WIDE_ONLY}", None))
    assert all(row.owner == "main" for row in ACTIONS if row.bound and not row.narrow)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
async def test_the_footer_shows_the_keys_in_table_order(app_for, size):
    """The main screen's keys, then the app's: the owners split the table without reordering
    it (Textual's footer lists the screen's bindings before the app's)."""
    app = app_for("mlp")
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        footer = app.query_one(Footer)
        shown = [
            key.key_display
            for key in footer.query("FooterKey")
            if not key.has_class("-command-palette")
        ]
        assert shown == footer_keys(narrow=app.main.narrow)


def test_every_help_line_fits_80_columns():
    lines = help_lines(PANELS)
    key_width = max(len(keys) for keys, _ in lines)
    for keys, text in lines:
        assert key_width + 2 + len(text) <= HELP_WIDTH, keys
    for spec in PANELS:
        assert max(len(s.name) for s in PANELS) + 2 + len(spec.help) <= HELP_WIDTH, spec.name


def test_the_panel_keys_come_from_the_registry():
    assert [spec.key for spec in PANELS] == [str(i) for i in range(1, len(PANELS) + 1)]
    views = [b for b in bindings(PANELS) if b.action.startswith("view(")]
    assert [(b.key, b.action) for b in views] == [(p.key, f"view('{p.name}')") for p in PANELS]
    assert ("1-6", "narrow terminal: tree, layers, charts, inspect, warnings, flow") in help_lines(
        PANELS
    )


def test_a_key_hidden_from_the_narrow_footer_has_a_hidden_twin():
    for row in ACTIONS:
        if row.bound and row.footer and not row.narrow:
            keyed = [b for b in bindings(PANELS) if b.key == row.keys[0]]
            assert [(b.action, b.show) for b in keyed] == [
                (f"{WIDE_ONLY}('{row.action}')", True),
                (row.action, False),
            ]
    assert WIDE_ONLY in MAIN_VIEW_ACTIONS and "quit" not in MAIN_VIEW_ACTIONS


def test_the_palette_names_the_keys():
    entries = {title: help_text for title, help_text, _ in palette_entries()}
    assert entries["Step batch"] == "train one batch (n, space)"
    assert entries["Lower lr"] == "divide the learning rate by the lr factor ([)"


def test_every_remedy_action_has_a_key():
    assert set(REMEDY_KEYS) == set(REMEDY_ACTIONS)
    assert REMEDY_KEYS == {"rewind": "j", "lower_lr": "[", "checkpoint": "w", "check_backward": "g"}


def test_the_registry_is_consistent():
    assert len({spec.name for spec in PANELS}) == len({spec.id for spec in PANELS}) == len(PANELS)
    assert {spec.column for spec in PANELS} <= set(COLUMNS)
    for spec in PANELS:
        assert isinstance(spec.widget, type) and issubclass(spec.widget, Widget)
        assert callable(getattr(spec.widget, "refresh_from", None)), spec.name
        assert callable(getattr(spec.widget, "highlight", None)), spec.name


def crafted_warning() -> RuleWarning:
    return RuleWarning(
        rule="loss_explosion",
        severity=Severity.DIVERGED,
        step=7,
        message="loss exploded",
        diagnosis="the steps overshoot",
        remedies=(
            Remedy("rewind to step 0, whose weights are still finite", "rewind"),
            Remedy("halve the learning rate", "lower_lr"),
            Remedy("check the data loader"),
        ),
        target="0.W",
    )


def test_a_remedy_shows_the_key_that_carries_it_out():
    lines = warning_text(crafted_warning()).plain.splitlines()
    assert "  fix: rewind to step 0, whose weights are still finite (j)" in lines
    assert "  fix: halve the learning rate ([)" in lines
    assert "  fix: check the data loader" in lines  # no action, no key
    older = ("a plain string remedy",)  # what a rule without Remedy objects gives
    plain = RuleWarning("r", Severity.WARNING, 1, "m", "d", older)  # type: ignore[arg-type]
    assert warning_text(plain).plain.endswith("fix: a plain string remedy")


class WarningsApp(App):
    """The warnings panel alone, following a stand-in for the stepper."""

    def __init__(self) -> None:
        super().__init__()
        self.stepper = SimpleNamespace(warnings=(crafted_warning(),))

    def compose(self) -> ComposeResult:
        yield WarningsPanel(self.stepper)  # type: ignore[arg-type]


async def test_the_warnings_panel_shows_remedy_keys():
    app = WarningsApp()
    async with app.run_test(size=(80, 24)):
        panel = app.query_one(WarningsPanel)
        assert isinstance(panel, Panel) and panel.tab_count == 1
        assert "halve the learning rate ([)" in panel.text
        assert "whose weights are still finite (j)" in panel.text
