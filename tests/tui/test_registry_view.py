"""The registry view (``a``) replays build()'s registrations on ``demo shared``: the tree grows,
each module's three dictionaries by their real names, the shared W marked as the same object,
the source line of each assignment; the inspector of a module shows its three dictionaries."""

from __future__ import annotations

import io

from rich.console import Console

import scratchai as sa
from scratchai.engine import Stepper, load_demo
from scratchai.engine.views import recording_registrations
from scratchtui.screens.registry import NONE_RECORDED, RegistryScreen
from scratchtui.widgets import Inspector
from scratchtui.widgets.state_strip import StateStrip


def plain(renderable, width: int = 120) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def recorded_stepper(name: str) -> Stepper:
    """A demo's stepper whose build() was recorded, as ``scratchtui demo NAME`` does."""
    sa.manual_seed(0)
    with recording_registrations() as log:
        experiment = load_demo(name)
    log.keep(experiment.model, experiment.loss)
    return Stepper(experiment)


def shown(screen: RegistryScreen) -> tuple[str, str, str]:
    box = screen.query_one("Vertical")
    return plain(screen.tree_text.content), plain(screen.entry.content), str(box.border_subtitle)


async def test_a_replays_the_shared_demo_and_shows_the_tie(app_on):
    app = app_on(recorded_stepper("shared"))
    async with app.run_test(size=(100, 30)) as pilot:
        strip = app.query_one(StateStrip).render_strip().plain
        assert "registered" in strip and "a: registry" in strip  # before the first batch
        await pilot.press("a")
        screen = app.screen
        assert isinstance(screen, RegistryScreen)
        tree, entry, subtitle = shown(screen)
        assert subtitle.startswith("#1 of 11")
        assert "branch_a (Linear)  built, not assigned to its parent yet" in tree
        assert "_parameters {'W': (64,32)}" in tree and "_modules {}  _buffers {}" in tree
        assert "model.branch_a (Linear)._parameters['W']" in entry and "layers.py:" in entry

        await pilot.press("right", "right")  # 3: branch_a into the model's _modules
        tree, entry, _ = shown(screen)
        assert "model (TwoBranchNet)" in tree and "_modules {'branch_a': Linear}" in tree
        assert "not assigned" not in tree
        assert "shared.py:19  self.branch_a = sa.Linear(64, 32)" in entry

        await pilot.press("right", "right", "right", "right")  # 7: the tie
        tree, entry, subtitle = shown(screen)
        assert subtitle.startswith("#7 of 11")
        assert "'W': (64,32) <-> model.branch_a.W (same object)" in tree
        assert "shared.py:21  self.branch_a.W" not in entry
        assert "shared.py:21  self.branch_b.W = self.branch_a.W" in entry
        assert "the same object as #1 (model.branch_a.W): a shared weight, counted once" in entry

        await pilot.press("left")
        assert shown(screen)[2].startswith("#6 of 11")
        await pilot.press("end")
        tree, _, subtitle = shown(screen)
        assert subtitle.startswith("#11 of 11")
        assert "'act': ReLU, 'head': Linear}" in tree and "head (Linear)" in tree
        await pilot.press("escape")
        assert not isinstance(app.screen, RegistryScreen)
        await pilot.press("n")
        assert "a: registry" not in app.query_one(StateStrip).render_strip().plain


async def test_a_model_without_a_recording_says_so(app_on):
    sa.manual_seed(0)
    app = app_on(Stepper(load_demo("mlp")))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, RegistryScreen)
        assert NONE_RECORDED.split(":")[0] in " ".join(shown(app.screen)[0].split())
        await pilot.press("escape")
        assert not isinstance(app.screen, RegistryScreen)


async def test_the_inspector_of_a_module_shows_its_three_dictionaries(app_on):
    app = app_on(recorded_stepper("shared"))
    async with app.run_test(size=(120, 40)) as pilot:
        inspector = app.query_one(Inspector)
        inspector.show("")
        await pilot.pause()
        text = plain(inspector.body.content)
        assert "_parameters  {}" in text and "_buffers     {}" in text
        assert "_modules     branch_a Linear · branch_b Linear · act ReLU · head Linear" in text
        inspector.show("branch_b")
        await pilot.pause()
        text = plain(inspector.body.content)
        assert "_parameters  W (64, 32)" in text and "branch_a.W, branch_b.W" in text
        assert "_modules     {}" in text
