"""Suite-wide: every test leaves no hook on any model and no thread of ours behind it (the app's
job thread, an interrupt's timer): a leftover one would train, evaluate or interrupt in the
background of the tests that follow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from scratchai.engine import Stepper
from scratchai.hooks import live_hook_handles


def our_threads() -> set[threading.Thread]:
    """The threads of scratchai and scratchtui still alive (an app's job, an interrupt's timer)."""
    return {
        t
        for t in threading.enumerate()
        if t.name.startswith(("scratchai-", "scratchtui-")) and t.is_alive()
    }


@pytest.fixture(autouse=True)
def _nothing_left_behind() -> Iterator[None]:
    hooks, threads = live_hook_handles(), our_threads()
    yield
    deadline = time.monotonic() + 2.0  # a job thread that was told to stop needs a moment
    while our_threads() - threads and time.monotonic() < deadline:
        time.sleep(0.01)
    left = our_threads() - threads
    assert not left, f"threads left running: {sorted(t.name for t in left)}"
    assert live_hook_handles() == hooks, (
        f"{live_hook_handles() - hooks} hook handle(s) left on models: close every Stepper"
    )


@pytest.fixture(name="our_threads")
def our_threads_fixture() -> Callable[[], set[threading.Thread]]:
    """The function that lists our live threads, for tests about them."""
    return our_threads


@pytest.fixture
def closing() -> Iterator[Callable[[Stepper], Stepper]]:
    """``stepper = closing(Stepper(...))``: the stepper is closed when the test ends."""
    opened: list[Stepper] = []

    def track(stepper: Stepper) -> Stepper:
        opened.append(stepper)
        return stepper

    yield track
    for stepper in opened:
        stepper.close()
