"""Suite-wide: every test leaves no hook on any model and no thread that runs user code behind
it (a layer-by-layer pass, the app's job thread): a leftover one would train or evaluate in
the background of the tests that follow."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from scratchai.engine import Stepper
from scratchai.hooks import live_hook_handles


def pass_threads() -> set[threading.Thread]:
    """The threads a layer-by-layer pass (``PausablePass``) or an app's job runs in."""
    return {
        t
        for t in threading.enumerate()
        if t.name.startswith(("scratchai-", "scratchtui-")) and t.is_alive()
    }


@pytest.fixture(autouse=True)
def _nothing_left_behind() -> Iterator[None]:
    hooks, threads = live_hook_handles(), pass_threads()
    yield
    deadline = time.monotonic() + 2.0  # a cancelled pass thread needs a moment to unwind
    while pass_threads() - threads and time.monotonic() < deadline:
        time.sleep(0.01)
    left = pass_threads() - threads
    assert not left, f"pass threads left running: {sorted(t.name for t in left)}"
    assert live_hook_handles() == hooks, (
        f"{live_hook_handles() - hooks} hook handle(s) left on models: close every Stepper"
    )


@pytest.fixture(name="pass_threads")
def pass_threads_fixture() -> Callable[[], set[threading.Thread]]:
    """The function that lists live pass threads, for tests about them."""
    return pass_threads


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
