"""Keys pressed faster than the app handles them: every pair of keys of the actions table in
fast bursts, then 500 random keys. Afterwards the app is alive, idle (no loop left running)
and consistent (the strip shows the stepper's step; the main screen is at the bottom of the
stack, at most one dialog above it)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

from scratchtui.actions import ACTIONS
from scratchtui.panels import PANELS
from scratchtui.screens.main import MainScreen
from scratchtui.widgets.state_strip import StateStrip

NARROW = (80, 24)  # one panel at a time: the keys 1-6 switch views (tabs)
WIDE = (120, 40)
#: Every key of the table but quit and the palette (it would type into its search box).
KEYS = [
    key for row in ACTIONS for key in row.keys if row.action not in ("quit", "command_palette")
] + [p.key for p in PANELS]
#: Keys sent at once, before waiting for the app to take them off its queue.
BURST = 6
#: CPU seconds the whole process may use in one second of idling (a refresh loop uses ~1).
IDLE_CPU_LIMIT = 0.1


def strip_text(app) -> str:
    return app.query_one(StateStrip).render_strip().plain


async def idle_cpu(seconds: float) -> float:
    """CPU seconds the whole process used while the test slept ``seconds``."""
    before = time.process_time()
    await asyncio.sleep(seconds)
    return time.process_time() - before


async def drain(pilot, timeout: float = 10.0) -> float:
    """Let the app work through the keys still queued (the bursts outrun it), until a half
    second passes idle; returns how long that took. A loop never gets there."""
    start = time.monotonic()
    while await idle_cpu(0.5) >= IDLE_CPU_LIMIT / 2:
        assert time.monotonic() - start < timeout, "the app never went idle: a loop is running"
    return time.monotonic() - start


async def caught_up(app, timeout: float = 10.0) -> None:
    """Wait until the app has taken every key sent so far off its queue: the next burst
    starts from there (the app would otherwise fall seconds behind: each key redraws)."""
    deadline = time.monotonic() + timeout
    while not app._message_queue.empty():
        assert time.monotonic() < deadline, "the app stopped taking keys"
        await asyncio.sleep(0.001)


async def back_to_rest(app, pilot) -> None:
    """Stop whatever runs (i) and close any dialog (escape)."""
    await drain(pilot)
    if app.running:
        await pilot.tap("i")
        await pilot.until(lambda: not app.running, timeout=10)
    while app.screen is not app.main:
        await pilot.tap("escape")
        await asyncio.sleep(0.05)
    await pilot.settle()


async def assert_alive_idle_consistent(app, pilot) -> float:
    """The checks after a spam; returns the CPU seconds used by one idle second."""
    await back_to_rest(app, pilot)
    await drain(pilot)
    assert app.return_code is None and app.is_running
    assert app.screen_stack == [app.main], app.screen_stack
    assert not app.running and app.trainer.wait_idle(0)
    assert f"step {app.stepper.step} " in strip_text(app), strip_text(app)
    assert "paused" in strip_text(app)
    used = await idle_cpu(1.0)
    assert used < IDLE_CPU_LIMIT, f"{used:.3f} s of CPU in one idle second: a loop is running"
    return used


def every_pair_once(keys: list[str]) -> list[str]:
    """A key sequence in which every ordered pair of ``keys`` (a key with itself included)
    is adjacent exactly once: the de Bruijn sequence B(len(keys), 2), closed into a line."""
    k, order, found = len(keys), 2, []
    a = [0] * k * order

    def db(t: int, p: int) -> None:
        if t > order:
            if order % p == 0:
                found.extend(a[1 : p + 1])
            return
        a[t] = a[t - p]
        db(t + 1, p)
        for j in range(a[t - p] + 1, k):
            a[t] = j
            db(t + 1, t)

    db(1, 1)
    return [keys[i] for i in [*found, found[0]]]


def test_the_sequence_has_every_pair():
    sequence = every_pair_once(KEYS)
    pairs = set(itertools.pairwise(sequence))
    assert len(sequence) == len(KEYS) ** 2 + 1
    assert pairs == set(itertools.product(KEYS, repeat=2))


async def test_bursts_of_every_key_pair(app_for):
    app = app_for("mlp")
    sequence = every_pair_once(KEYS)
    async with app.run_test(size=NARROW) as pilot:
        for start in range(0, len(sequence) - 1, BURST):
            # faster than the app handles them; bursts overlap by one key: no pair is split
            await pilot.tap(*sequence[start : start + BURST + 1])
            await caught_up(app)
            if app.running and app.trainer.job in ("run", "epoch"):
                await pilot.tap("i")  # keep the bursts about keys, not a long run
        used = await assert_alive_idle_consistent(app, pilot)
        print(f"idle CPU after {len(sequence)} keys, every pair in bursts: {used * 1000:.1f} ms/s")


async def test_500_random_keys(app_for):
    app = app_for("mlp")
    rng = random.Random(14)
    async with app.run_test(size=WIDE) as pilot:
        for count in range(500):
            await pilot.tap(rng.choice(KEYS))
            if count % 5 == 4:
                await caught_up(app)
        used = await assert_alive_idle_consistent(app, pilot)
        print(f"idle CPU after 500 random keys: {used * 1000:.1f} ms/s")


async def test_queued_tab_changes_do_not_echo(app_for, monkeypatch):
    """Two tab changes queued before either is handled (two fast clicks), then three view
    keys: each is shown once and the last one stays; ``action_view`` changes the tabs without
    posting back, so nothing ping-pongs."""
    shown: list[str] = []
    original = MainScreen.action_view

    def counting(self, name: str) -> None:
        shown.append(name)
        original(self, name)

    monkeypatch.setattr(MainScreen, "action_view", counting)
    app = app_for("mlp")
    async with app.run_test(size=NARROW) as pilot:
        tabs = app.main.tabs
        shown.clear()  # the first tab's activation at start
        tabs.active = "tab-layers"  # what a click does
        tabs.active = "tab-charts"
        await pilot.tap("4", "5", "1")  # and the keys, queued behind them
        await asyncio.sleep(0.5)
        assert app.main.view == "tree" and tabs.active == "tab-tree"
        assert shown == ["layers", "charts", "inspect", "warnings", "tree"]
        await asyncio.sleep(0.3)
        assert len(shown) == 5 and await idle_cpu(0.5) < IDLE_CPU_LIMIT / 2
