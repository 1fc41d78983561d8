"""Issue 22, item 1: follow a warning's advice in one key. ``j`` opens on the step the warning
names (its text selected, so typing replaces it); the undone warning stays listed after the
re-run passes its step, marked fixed; "check it again" names ``g``."""

from __future__ import annotations

from textual.widgets import Input

from scratchai.engine import Remedy, RuleWarning, Severity
from scratchtui.screens.prompt import PromptScreen
from scratchtui.widgets.warnings_panel import WarningsPanel, warning_text

WIDE = (120, 40)


def rewind_step(warning: RuleWarning) -> int:
    return next(r.step for r in warning.remedies if getattr(r, "action", None) == "rewind")


async def diverged(app, pilot, wait_until) -> RuleWarning:
    """Run the diverge demo until it pauses; the newest warning that says where to rewind."""
    await pilot.press("r")
    await wait_until(pilot, lambda: not app.running, timeout=20)
    advising = [w for w in app.stepper.warnings if any(r.action == "rewind" for r in w.remedies)]
    assert advising, app.stepper.warnings
    return advising[-1]


async def test_j_opens_on_the_step_the_warning_names_with_its_text_selected(app_for, wait_until):
    app = app_for("diverge")
    async with app.run_test(size=WIDE) as pilot:
        warning = await diverged(app, pilot, wait_until)
        target = rewind_step(warning)
        assert target < app.stepper.step
        assert f"rewind to step {target}" in app.query_one(WarningsPanel).text
        await pilot.press("j")
        assert isinstance(app.screen, PromptScreen)
        field = app.screen.query_one(Input)
        assert field.value == str(target)
        assert field.selection.start == 0 and field.selection.end == len(field.value)
        await pilot.press("enter")  # one key more: go there
        await wait_until(pilot, lambda: not app.running and app.screen is app.main)
        assert app.stepper.step == target


async def test_typing_replaces_the_offered_step(app_for, wait_until):
    app = app_for("diverge")
    async with app.run_test(size=WIDE) as pilot:
        await diverged(app, pilot, wait_until)
        await pilot.press("j", "1", "enter")
        await wait_until(pilot, lambda: not app.running and app.screen is app.main)
        assert app.stepper.step == 1


async def test_j_offers_the_current_step_when_no_warning_advises_a_rewind(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n", "j")
        assert app.screen.query_one(Input).value == "2"


async def test_the_undone_warning_stays_after_the_re_run_passes_its_step(app_for, wait_until):
    """Rewind as advised, lower the lr, train past the step again: the warning that was
    followed is still listed, marked undone and fixed."""
    app = app_for("diverge")
    async with app.run_test(size=WIDE) as pilot:
        warning = await diverged(app, pilot, wait_until)
        bad_step = warning.step
        await pilot.press("j", "enter")  # the step the warning names
        await wait_until(pilot, lambda: not app.running and app.screen is app.main)
        panel = app.query_one(WarningsPanel)
        assert f"undone step {bad_step}" in panel.text
        for _ in range(6):  # lr 8 -> 0.125
            await pilot.press("left_square_bracket")
        await pilot.press("j")
        app.screen.query_one(Input).value = str(bad_step + 2)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not app.running and app.screen is app.main, timeout=20)
        assert app.stepper.step == bad_step + 2, app.notices[-3:]
        assert f"undone, fixed step {bad_step}" in panel.text, panel.text
        assert warning.message in panel.text
        # the list is newest first: the fixed warning sits among the steps by its own step
        assert not any(w.step == bad_step and w.rule == warning.rule for w in app.stepper.warnings)


def test_a_remedy_to_check_a_backward_again_names_g():
    warning = RuleWarning(
        "backward_check",
        Severity.WARNING,
        0,
        "backward of '0' (MyLinear) is wrong",
        "checked alone",
        (Remedy("fix MyLinear.backward, then check it again", action="check_backward"),),
        "0",
    )
    assert "fix MyLinear.backward, then check it again (g)" in warning_text(warning).plain
