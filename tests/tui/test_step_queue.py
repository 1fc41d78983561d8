"""Issue 22, item 2: n, p and l pressed while a step runs wait in a short queue instead of
being refused; the strip shows the queue; i clears it; a failure or a pause drops it."""

from __future__ import annotations

import time

import pytest
from conftest import RecordingApp
from test_key_spam import strip_text

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Breakpoints, Experiment, Settings, State, Stepper
from scratchtui.controls.stepping import QUEUE_DEPTH

WIDE = (120, 40)
#: Long enough that every key of a burst arrives while the first step still runs.
STEP_SECONDS = 0.25


class Slow(sa.Module):
    """Passes its input through after a sleep (a step of about ``STEP_SECONDS``)."""

    def forward(self, x):
        time.sleep(STEP_SECONDS)
        return x

    def backward(self, grad_output):
        return grad_output


def slower(tmp_path, breakpoints: Breakpoints) -> RecordingApp:
    sa.manual_seed(0)
    data = make_clusters(n_samples=256, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, 16), Slow(), sa.Linear(16, 3))
    experiment = Experiment(
        model,
        sa.CrossEntropyLoss(),
        sa.SGD(model.parameters(), lr=0.1),
        sa.DataLoader(data, batch_size=16),
        name="slower",
    )
    # no backward check before step 1: it runs the slow forward many times
    settings = Settings(backward_check_first=False)
    stepper = Stepper(experiment, settings=settings, breakpoints=breakpoints)
    return RecordingApp(stepper, checkpoint_dir=tmp_path)


@pytest.fixture
def slower_app(tmp_path) -> RecordingApp:
    return slower(tmp_path, Breakpoints(converged=False))


async def test_three_queued_n_give_three_more_steps(slower_app):
    app = slower_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.tap("n")
        await pilot.until(lambda: app.running)
        await pilot.tap("n", "n", "n")
        await pilot.until(lambda: len(app.controls.steps.queue) == 3)
        assert "then n n n" in strip_text(app)
        assert not any("a step is running" in n for n in app.notices)  # queued, not refused
        await pilot.until(lambda: app.stepper.step == 4 and not app.running, timeout=10)
        assert not app.controls.steps.queue and "then" not in strip_text(app)
        assert "step 4 " in strip_text(app)


async def test_holding_n_keeps_a_few_waiting_never_more(slower_app):
    app = slower_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.tap(*["n"] * 10)  # a held key repeats
        await pilot.until(lambda: not app.running and not app.controls.steps.queue, timeout=10)
        assert app.stepper.step == 1 + QUEUE_DEPTH


async def test_i_clears_the_queue(slower_app):
    app = slower_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.tap("n")
        await pilot.until(lambda: app.running)
        await pilot.tap("n", "n")
        await pilot.until(lambda: len(app.controls.steps.queue) == 2)
        await pilot.tap("i")
        await pilot.until(lambda: not app.running, timeout=10)
        await pilot.pause(0.3)
        assert not app.controls.steps.queue and "then" not in strip_text(app)
        assert app.stepper.step == 0  # the step running was undone, none of the queue ran


async def test_phases_and_layers_queue_in_order(slower_app):
    app = slower_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.tap("n")
        await pilot.until(lambda: app.running)
        await pilot.tap("p", "l")
        await pilot.until(lambda: len(app.controls.steps.queue) == 2)
        assert "then p l" in strip_text(app)
        await pilot.until(lambda: not app.running and not app.controls.steps.queue, timeout=10)
        # a batch, then its next forward phase, then the first layer after it
        assert app.stepper.step == 1 and app.stepper.mid_batch
        assert app.stepper.state in (State.FORWARD, State.LOSS)


async def test_the_queue_waits_only_behind_a_step(slower_app):
    """A run is paused with r; n during a run is refused as before."""
    app = slower_app
    async with app.run_test(size=WIDE) as pilot:
        await pilot.tap("r")
        await pilot.until(lambda: app.running)
        await pilot.tap("n")
        await pilot.until(lambda: any("training is running" in n for n in app.notices))
        assert not app.controls.steps.queue
        await pilot.tap("r")
        await pilot.until(lambda: not app.running, timeout=10)


async def test_a_pause_drops_the_queue(tmp_path):
    """A breakpoint that fires on the step running: the steps waiting are dropped, so the
    user looks at why it paused first."""
    app = slower(tmp_path, Breakpoints(converged=False, grad_norm_above=1e-9))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.tap("n")
        await pilot.until(lambda: app.running)
        await pilot.tap("n", "n")
        await pilot.until(lambda: len(app.controls.steps.queue) == 2)
        await pilot.until(lambda: not app.running and not app.controls.steps.queue, timeout=10)
        await pilot.pause(0.3)
        assert app.stepper.step == 1 and not app.running
        assert any("2 queued step(s) dropped" in n for n in app.notices)
