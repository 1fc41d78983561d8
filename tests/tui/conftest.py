"""Fixtures for driving the debugger with Textual's Pilot the way a user would: press keys,
then assert on what the app shows and on the stepper behind it."""

from __future__ import annotations

import asyncio
import textwrap
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Breakpoints, Experiment, Stepper, load_demo, load_experiment_file
from scratchtui.app import ScratchApp

#: The character a terminal sends for a named key (``tap``).
KEY_CHARS = {"question_mark": "?", "escape": "\x1b", "ctrl+c": "\x03", "space": " "}


class StepPilot(Pilot):
    """Pilot that waits, after each key, until the step it started is done and shown (steps
    run in the app's job thread): a test reads the result of ``press("n")`` as a user sees it.
    A run (``r``) is not waited for; ``burst`` presses keys without waiting at all."""

    async def press(self, *keys: str) -> None:
        for key in keys:
            await super().press(key)
            await self.settle()

    async def burst(self, *keys: str) -> None:
        """Press the keys as fast as Pilot can, without waiting for any step."""
        await super().press(*keys)

    async def tap(self, *keys: str) -> None:
        """Send keys as a terminal does, waiting for nothing: Pilot's ``press`` waits until the
        process's CPU use drops (a second at most), which never happens while user code spins
        in the job thread."""
        app = self.app
        for key in keys:
            event = events.Key(key, KEY_CHARS.get(key, key if len(key) == 1 else None))
            event.set_sender(app)
            assert app._driver is not None
            app._driver.send_message(event)
            await asyncio.sleep(0)

    async def until(self, condition: Callable[[], bool], timeout: float = 5.0) -> float:
        """Let the app run until ``condition()`` holds, polling without Pilot's idle wait;
        returns how long it took (the app's latency, as a user would see it)."""
        start = time.monotonic()
        while not condition():
            if time.monotonic() - start > timeout:
                raise AssertionError(f"timed out after {timeout} s waiting for the app")
            await asyncio.sleep(0.005)
        return time.monotonic() - start

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until no step (a run may go on) runs in the app's job thread, or the app
        exits."""
        app = self.app
        assert isinstance(app, ScratchApp)
        deadline = time.monotonic() + timeout
        while app.running and app.trainer.job != "run" and app.return_code is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the {app.trainer.job} job did not end in {timeout} s")
            await asyncio.sleep(0.002)
        await self.pause()


class RecordingApp(ScratchApp):
    """The real app, remembering every notification so tests can read what the user was told;
    its ``run_test`` gives a ``StepPilot``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notices: list[str] = []

    @asynccontextmanager
    async def run_test(self, **kwargs) -> AsyncIterator[StepPilot]:  # type: ignore[override]
        async with super().run_test(**kwargs):
            yield StepPilot(self)

    def notify(self, message, *, title="", severity="information", timeout=None, markup=True):
        self.notices.append(f"{title}: {message}" if title else str(message))
        return super().notify(
            message, title=title, severity=severity, timeout=timeout, markup=markup
        )


def make_stepper(name: str = "mlp", breakpoints: Breakpoints | None = None) -> Stepper:
    """A demo's stepper, seeded like the CLI seeds it."""
    sa.manual_seed(0)
    return Stepper(load_demo(name), breakpoints=breakpoints)


@pytest.fixture
def app_on() -> Callable[..., RecordingApp]:
    """``app_on(stepper, **options)``: the recording app on a stepper the test built."""
    return RecordingApp


@pytest.fixture
def app_for(tmp_path: Path) -> Callable[..., RecordingApp]:
    """``app_for('mlp')`` -> an app on that demo, saving checkpoints under ``tmp_path``."""

    def make(name: str = "mlp", breakpoints: Breakpoints | None = None) -> RecordingApp:
        return RecordingApp(make_stepper(name, breakpoints), checkpoint_dir=tmp_path)

    return make


async def _wait_until(pilot, condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await asyncio.sleep(0.01)
    await pilot.pause()


@pytest.fixture
def wait_until():
    """``await wait_until(pilot, condition)``: let the app run until ``condition()`` holds
    (runs train in a worker thread, so a key press returns before they finish)."""
    return _wait_until


# A user's experiment file whose model raises inside forward on its third training call.
RAISING_MODEL = """
import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class Flaky(sa.Module):
    '''Passes its input through, but raises on the third call (a user's bug).'''

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        if self.calls == 3:
            raise ValueError("user bug in forward on call 3")
        return x

    def backward(self, grad_output):
        return grad_output


def build():
    data = make_clusters(n_samples=200, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, 16), Flaky(), sa.Linear(16, 3))
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name="flaky")
"""


@pytest.fixture
def raising_app(tmp_path: Path) -> RecordingApp:
    """The app on a user file (written to tmp_path) whose model raises during step 3."""
    path = tmp_path / "flaky_model.py"
    path.write_text(textwrap.dedent(RAISING_MODEL))
    sa.manual_seed(0)
    return RecordingApp(Stepper(load_experiment_file(path)), checkpoint_dir=tmp_path)


class Sleepy(sa.Module):
    """Passes its input through after a short sleep: a model slow enough that the process is
    idle most of the time, as Pilot needs to see between key presses during a run."""

    def forward(self, x):
        time.sleep(0.03)
        return x

    def backward(self, grad_output):
        return grad_output


@pytest.fixture
def slow_app(tmp_path: Path) -> RecordingApp:
    """An app on a small classifier whose steps take 30 ms each (no breakpoint stops it)."""
    sa.manual_seed(0)
    data = make_clusters(n_samples=256, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, 16), Sleepy(), sa.Linear(16, 3))
    experiment = Experiment(
        model,
        sa.CrossEntropyLoss(),
        sa.SGD(model.parameters(), lr=0.1),
        sa.DataLoader(data, batch_size=16),
        name="slow",
    )
    stepper = Stepper(experiment, breakpoints=Breakpoints(converged=False))
    return RecordingApp(stepper, checkpoint_dir=tmp_path)


@pytest.fixture(autouse=True)
def _quiet_numpy():
    """The diverge demo overflows on purpose; its RuntimeWarnings are expected noise here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


class Trap(sa.Module):
    """Passes its input through; ``action`` (set by a test) runs inside its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.action: Callable[[], object] | None = None

    def forward(self, x):
        if self.action is not None:
            self.action()
        return x

    def backward(self, grad_output):
        return grad_output


@pytest.fixture
def trap_app(tmp_path: Path) -> tuple[RecordingApp, Trap]:
    """An app on a small classifier with a ``Trap`` as module '1' (no breakpoint pauses it)."""
    sa.manual_seed(0)
    trap = Trap()
    data = make_clusters(n_samples=128, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, 16), trap, sa.Linear(16, 3))
    experiment = Experiment(
        model,
        sa.CrossEntropyLoss(),
        sa.SGD(model.parameters(), lr=0.1),
        sa.DataLoader(data, batch_size=16),
        name="trap",
    )
    stepper = Stepper(experiment, breakpoints=Breakpoints(converged=False))
    return RecordingApp(stepper, checkpoint_dir=tmp_path), trap


@pytest.fixture(autouse=True)
def _files_go_to_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys that write files (screenshots, exports, checkpoints) write under ``tmp_path``, never
    into the directory the tests run from."""
    monkeypatch.chdir(tmp_path)
