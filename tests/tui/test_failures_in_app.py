"""What the debugger does when the user's code misbehaves during a step: raises, exits, calls
``os._exit``, or never returns. The app stays up, says what happened and where, and the model
is back at the last good step."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import numpy as np
import pytest

from scratchtui.screens.help import HelpScreen
from scratchtui.widgets.error_panel import ErrorPanel
from scratchtui.widgets.state_strip import StateStrip

WIDE = (120, 40)

#: Set to end every runaway loop the tests start (a failed test must not leave one spinning).
STOP = threading.Event()
SPINNING = threading.Event()


@pytest.fixture(autouse=True)
def _stop_runaways():
    STOP.clear()
    SPINNING.clear()
    yield
    STOP.set()


def runaway() -> None:
    """A user's forward that never returns (until the test ends)."""
    SPINNING.set()
    while not STOP.is_set():
        pass


def strip_text(app) -> str:
    return app.query_one(StateStrip).render_strip().plain


def weights(app) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in app.stepper.model.state_dict().items()}


def assert_weights(app, before: dict[str, np.ndarray]) -> None:
    for key, value in app.stepper.model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


class Custom(BaseException):
    """Neither an Exception nor an exit: still a failed step."""


def _raise(exc: BaseException):
    def action() -> None:
        raise exc

    return action


@pytest.mark.parametrize(
    ("action", "summary"),
    [
        (lambda: sys.exit(3), "the code called sys.exit(3)"),
        (lambda: sys.exit(0), "the code called sys.exit(0)"),
        # raised by the code, not a ctrl+c: a failed step that says what was raised
        (_raise(KeyboardInterrupt()), "the code raised KeyboardInterrupt()"),
        (_raise(Custom("odd")), "Custom: odd"),
        (lambda: os._exit(3), "the code called os._exit(3)"),
    ],
    ids=["sys.exit(3)", "sys.exit(0)", "KeyboardInterrupt", "BaseException", "os._exit"],
)
async def test_an_exit_in_user_code_is_a_failed_step_in_the_app(
    trap_app, monkeypatch, action, summary
):
    app, trap = trap_app

    def unguarded(code: int) -> None:  # reached only if the app's guard is missing
        raise AssertionError(f"os._exit({code}) reached the process")

    monkeypatch.setattr(os, "_exit", unguarded)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        before = weights(app)
        trap.action = action
        await pilot.press("n")
        assert app.return_code is None and app.screen is app.main  # alive, on its main view
        assert app.stepper.step == 2 and "step 2 " in strip_text(app)
        assert_weights(app, before)
        shown = app.main.error_panel.text  # the panel says it (a toast would cover it)
        assert summary in shown and "back at step 2" in shown, shown
        assert "forward of module '1' (Trap)" in shown
        error_text = app.query_one(ErrorPanel).text
        assert summary in error_text and "in forward" in error_text  # the traceback: where
        assert os._exit is unguarded  # the guard is gone once the step is over
        trap.action = None
        await pilot.press("n")
        assert app.stepper.step == 3


async def _start_runaway(pilot, key: str) -> None:
    """Press ``key``; wait until the user's code loops (the app keeps drawing meanwhile)."""
    await pilot.tap(key)
    await pilot.until(SPINNING.is_set)


@pytest.mark.parametrize("interrupt", ["i", "ctrl+c"])
async def test_a_runaway_step_leaves_the_app_responsive_and_is_interrupted(trap_app, interrupt):
    app, trap = trap_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        before = weights(app)
        trap.action = runaway
        await _start_runaway(pilot, "n")
        await asyncio.sleep(0.6)  # two ticks of the strip's clock
        assert app.running and "> batch" in strip_text(app) and "i interrupts" in strip_text(app)
        assert float(strip_text(app).split("> batch ")[1].split("s")[0]) >= 0.5
        assert "in forward" in strip_text(app) and "forward done" not in strip_text(app)
        await pilot.tap("question_mark")  # the UI thread is free: the help opens and closes
        latency = await pilot.until(lambda: isinstance(app.screen, HelpScreen))
        await pilot.tap("escape")
        latency = max(latency, await pilot.until(lambda: app.screen is app.main))
        # The UI thread shares the GIL with the spinning job thread: 0.09-0.2 s here, once
        # 0.52 s in a full CI run; a UI blocked by the step would take as long as the step.
        assert latency < 1.0, latency
        await pilot.tap("n", "b", "w", "r")  # n waits in the queue; never a second step at once
        await pilot.until(lambda: sum("a step is running (batch" in n for n in app.notices) == 3)
        assert "then n" in strip_text(app)
        await pilot.tap(interrupt)  # the queue is dropped with the step
        await pilot.until(lambda: not app.running)
        assert not app.controls.steps.queue
        assert app.stepper.step == 2
        assert_weights(app, before)
        assert "step was interrupted during forward of module '1'" in app.main.error_panel.text
        assert "paused" in strip_text(app) and "step 2 " in strip_text(app)
        trap.action = None
        await pilot.press("n")
        assert app.stepper.step == 3


@pytest.mark.parametrize(
    ("key", "job"),
    [("l", "layer"), ("p", "phase"), ("e", "epoch"), ("r", "run"), ("b", "rewind")],
)
async def test_every_key_that_runs_user_code_runs_it_off_the_ui_thread(trap_app, key, job):
    app, trap = trap_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n", "n")
        step = app.stepper.step
        trap.action = runaway  # rewind replays a step: the user's code again
        await _start_runaway(pilot, key)
        assert app.running and app.trainer.job == job
        assert threading.current_thread() is threading.main_thread()  # Pilot's, the UI's
        await pilot.tap("i")
        await pilot.until(lambda: not app.running)
        assert app.return_code is None
        said = [*app.notices, app.main.error_panel.text]  # between two steps / inside one
        assert any("interrupted" in n for n in said), said
        assert app.stepper.step <= step and f"step {app.stepper.step} " in strip_text(app)
        trap.action = None
        await pilot.press("n")
        assert app.stepper.step >= 1 and not app.running


async def test_quitting_during_a_runaway_step_is_prompt(trap_app):
    app, trap = trap_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        trap.action = runaway
        await _start_runaway(pilot, "n")
        start = time.monotonic()
        await pilot.tap("q")
        await pilot.until(lambda: app.return_code is not None)
    took = time.monotonic() - start
    assert app.return_code == 0 and took < 2.0, took
    assert app.trainer.wait_idle(0)  # the step was interrupted, not left running


async def test_two_fast_dismissals_close_a_dialog_once(app_for):
    app = app_for("mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("k")
        dialog = app.screen
        dialog.query_one("#apply").focus()
        await pilot.burst("enter", "enter", "escape")
        await pilot.pause()
        assert app.screen is app.main and app.return_code is None
        dialog.dismiss(None)  # a late third: nothing
        await pilot.press("question_mark")
        help_screen = app.screen
        help_screen.dismiss(None)
        help_screen.dismiss(None)
        await pilot.pause()
        assert app.screen_stack == [app.main]


def test_a_crash_of_the_app_itself_never_exits_0(monkeypatch, trap_app):
    """A bug in the debugger (here: a callback raises once it is up) ends the process with
    status 1."""
    from textual.app import App

    from scratchtui import cli
    from scratchtui.app import ScratchApp

    app, _ = trap_app
    stepper = app.stepper
    mount = ScratchApp.on_mount

    def bug() -> None:
        raise RuntimeError("a bug in the debugger")

    def broken_mount(self) -> None:
        mount(self)
        self.set_timer(0.05, bug)

    monkeypatch.setattr(ScratchApp, "on_mount", broken_mount)
    monkeypatch.setattr(ScratchApp, "run", lambda self: App.run(self, headless=True))
    try:
        assert cli._run_app(stepper, cli.Console(stderr=True)) == cli.EXIT_CRASH == 1
    finally:
        stepper.close()


@pytest.mark.parametrize(("key", "job"), [("G", "check"), ("t", "modes")])
async def test_checks_and_views_that_run_user_code_are_jobs_too(trap_app, key, job):
    """The backward check and the train/eval view run the user's forward on copies: off the
    UI thread, and i stops them."""
    app, trap = trap_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "n")
        trap.action = runaway
        await _start_runaway(pilot, key)
        assert app.running and app.trainer.job == job
        await pilot.tap("i")
        await pilot.until(lambda: not app.running)
        assert app.return_code is None
        trap.action = None
        if app.screen is not app.main:
            await pilot.press("escape")
        await pilot.press("n")
        assert app.stepper.step == 3 and not app.running
