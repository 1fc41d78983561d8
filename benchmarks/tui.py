"""What the debugger costs: key ``n`` to the updated screen, and run mode against headless.

On the lesson's MLP (the ``mlp`` demo, seeded 0 like the CLI seeds it), with the real
``scratchtui.app.ScratchApp`` driven by Textual's Pilot in a 120×40 headless terminal:

1. **Key to screen.** Press ``n`` (one batch) and wait until the screen update that shows the new
   step has been produced. The app's ``_display`` (where Textual hands each compositor update to
   the terminal) is wrapped: the update is encoded to the terminal's escape sequences (what a
   real terminal session does there and a headless one skips) and a press counts as done at the
   first update whose text shows ``step N`` for the new step. Also split: key dispatch, the
   stepper's ``advance`` inside the app, the panels' ``refresh_panels``, and the wait for the
   next frame plus the render. Compared with a bare ``stepper.advance(Granularity.BATCH)``.
2. **Run mode.** Press ``r``, count the steps the training worker does over a fixed wall-clock
   window, press ``r`` again; against the headless loop (``stepper.run(max_steps=25)`` in chunks
   the way ``scratchtui/headless.py`` runs, without its Rich progress bar) over the same window.
   Breakpoints are off so both run the whole window, each window gets a fresh stepper, and the
   contenders are interleaved (headless, app, headless, app, ...). Also counted: the panels'
   refreshes and the screen updates, and the UI thread's CPU time during the window.

    python benchmarks/tui.py [--quick] [--presses N] [--window S] [--rounds N] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from step_time import blas_info

import scratchai as sa
from scratchai.engine import Breakpoints, Granularity, Stepper, load_demo
from scratchtui.app import RUN_REFRESH_SECONDS, ScratchApp

SIZE = (120, 40)
#: Steps per ``stepper.run`` call in the headless loop (``_CHUNK`` in scratchtui/headless.py).
HEADLESS_CHUNK = 25
#: Nothing pauses a run: both contenders train for the whole window.
NO_BREAKPOINTS = Breakpoints.none()
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def make_stepper(breakpoints: Breakpoints | None = None) -> Stepper:
    """The ``mlp`` demo's stepper, seeded like ``scratchtui demo mlp`` seeds it."""
    sa.manual_seed(0)
    return Stepper(load_demo("mlp"), breakpoints=breakpoints)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class Timed:
    """Replace ``owner.name`` (on the instance) by a wrapper that records each call's span."""

    def __init__(self, owner: object, name: str) -> None:
        self.spans: list[tuple[float, float]] = []
        fn = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spans.append((start, time.perf_counter()))

        setattr(owner, name, wrapper)

    @property
    def total(self) -> float:
        return sum(end - start for start, end in self.spans)


class ScreenWatch:
    """Wraps ``app._display``: every screen update, when it was ready, and (optionally) its text.

    With ``encode`` the update is rendered to the terminal's escape sequences first, which is
    the work ``App._display`` does for a real terminal and skips in a headless one.
    """

    def __init__(self, app: ScratchApp, encode: bool) -> None:
        self.updates: list[tuple[float, str]] = []
        self.spent = 0.0
        original = app._display

        def display(screen, renderable) -> None:
            start = time.perf_counter()
            original(screen, renderable)
            if renderable is None:
                return
            encoded = ""
            if encode and hasattr(renderable, "render_segments"):
                encoded = renderable.render_segments(app.console)
            end = time.perf_counter()
            self.spent += end - start
            self.updates.append((end, _ANSI.sub("", encoded)))

        app._display = display  # type: ignore[method-assign]

    def shown(self, step: int, since: float) -> float | None:
        """When the first update after ``since`` showing ``step N`` was ready (None: not yet)."""
        pattern = re.compile(rf"\bstep {step}(?!\d)")
        for when, text in self.updates:
            if when >= since and pattern.search(text):
                return when
        return None


# ---------------------------------------------------------------------------- 1. key n
@dataclass
class KeyLatency:
    total: list[float] = field(default_factory=list)  # key sent -> screen shows the new step
    dispatch: list[float] = field(default_factory=list)  # key sent -> advance starts
    advance: list[float] = field(default_factory=list)  # stepper.advance inside the app
    refresh: list[float] = field(default_factory=list)  # app.refresh_panels
    wait: list[float] = field(default_factory=list)  # refresh done -> compositor starts
    render: list[float] = field(default_factory=list)  # compositor starts -> update encoded
    bare: list[float] = field(default_factory=list)  # stepper.advance(BATCH), no app
    bare_idle: list[float] = field(default_factory=list)  # the same, idle between calls


async def _press_n(presses: int, warmup: int, result: KeyLatency) -> None:
    stepper = make_stepper()
    app = ScratchApp(stepper)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        advance = Timed(stepper, "advance")
        refresh = Timed(app, "refresh_panels")
        compose = Timed(app.screen._compositor, "render_update")
        watch = ScreenWatch(app, encode=True)
        for i in range(warmup + presses):
            target = stepper.step + 1
            advance.spans.clear()
            refresh.spans.clear()
            compose.spans.clear()
            sent = time.perf_counter()
            await pilot.press("n")
            deadline = time.perf_counter() + 10
            while (shown := watch.shown(target, sent)) is None:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the screen never showed step {target}")
                await pilot.pause()
            if stepper.step != target or len(advance.spans) != 1:
                raise RuntimeError(f"one press of n did not train one batch (step {stepper.step})")
            if i < warmup:
                continue
            (a_start, a_end), (r_start, r_end) = advance.spans[0], refresh.spans[-1]
            c_start = min(start for start, _ in compose.spans if start >= r_end)
            result.total.append(shown - sent)
            result.dispatch.append(a_start - sent)
            result.advance.append(a_end - a_start)
            result.refresh.append(r_end - r_start)
            result.wait.append(c_start - r_end)
            result.render.append(shown - c_start)
        watch.updates.clear()
        await pilot.pause()


def key_latency(presses: int, warmup: int = 3, idle_s: float = 0.04) -> KeyLatency:
    """Presses of ``n`` in the app, then bare advances back to back and with ``idle_s`` between
    them (a press takes Pilot ~40 ms of waiting for the app to go idle: caches go cold)."""
    result = KeyLatency()
    asyncio.run(_press_n(presses, warmup, result))
    for samples, idle in ((result.bare, 0.0), (result.bare_idle, idle_s)):
        stepper = make_stepper()
        for i in range(warmup + presses):
            if idle:
                time.sleep(idle)
            start = time.perf_counter()
            stepper.advance(Granularity.BATCH)
            if i >= warmup:
                samples.append(time.perf_counter() - start)
    return result


# ---------------------------------------------------------------------------- 2. run mode
@dataclass
class Window:
    steps: int
    seconds: float
    refreshes: int = 0  # refresh_panels calls during the window
    refresh_s: float = 0.0  # their total time
    updates: int = 0  # screen updates produced during the window
    ui_cpu_s: float = 0.0  # CPU time of the UI (main) thread during the window
    warnings: int = 0  # warnings the stepper holds at the end of the window
    cpu_s: float = 0.0  # CPU time of the whole process (all threads) during the window

    @property
    def rate(self) -> float:
        return self.steps / self.seconds

    @property
    def cpu_rate(self) -> float:
        """Steps per CPU-second of the process: what other load on the machine cannot skew."""
        return self.steps / self.cpu_s if self.cpu_s else 0.0


def headless_window(seconds: float, warmup_s: float) -> Window:
    """Chunks of ``stepper.run`` as the headless command runs them, for ``seconds``."""
    stepper = make_stepper(NO_BREAKPOINTS)
    start = time.perf_counter()
    while time.perf_counter() - start < warmup_s:
        stepper.run(max_steps=HEADLESS_CHUNK)
    steps0, start, cpu0 = stepper.step, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        stepper.run(max_steps=HEADLESS_CHUNK)
    cpu = time.process_time() - cpu0
    stepper.close()
    return Window(stepper.step - steps0, time.perf_counter() - start, cpu_s=cpu)


async def _toggle_run(app: ScratchApp, pilot, running: bool) -> None:
    """Press ``r`` and wait until the run started (or stopped).

    ``App.simulate_key`` sends the same key event through the same bindings as
    ``Pilot.press``, which then waits for the app to go idle: up to ~2 s while a run keeps the
    CPU busy.
    """
    app.simulate_key("r")
    deadline = time.perf_counter() + 10
    while app.running is not running:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"r did not {'start' if running else 'pause'} the run")
        await asyncio.sleep(0.005)
    if not running:
        await pilot.pause()  # (while a run keeps the CPU busy this would wait ~1 s)


async def _app_window(seconds: float, warmup_s: float, profiler: cProfile.Profile | None) -> Window:
    stepper = make_stepper(NO_BREAKPOINTS)
    app = ScratchApp(stepper)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        refresh = Timed(app, "refresh_panels")
        watch = ScreenWatch(app, encode=False)
        await _toggle_run(app, pilot, True)
        await asyncio.sleep(warmup_s)  # the same warm-up as the headless contender
        refresh.spans.clear()
        watch.updates.clear()
        if profiler is not None:
            profiler.enable()
        steps0, cpu0, start = stepper.step, time.thread_time(), time.perf_counter()
        process0 = time.process_time()
        await asyncio.sleep(seconds)
        steps1, cpu1, end = stepper.step, time.thread_time(), time.perf_counter()
        process1 = time.process_time()
        if profiler is not None:
            profiler.disable()
        refreshes = [s for s in refresh.spans if start <= s[0] < end]
        window = Window(
            steps=steps1 - steps0,
            seconds=end - start,
            refreshes=len(refreshes),
            refresh_s=sum(e - s for s, e in refreshes),
            updates=sum(start <= when < end for when, _ in watch.updates),
            ui_cpu_s=cpu1 - cpu0,
            warnings=len(stepper.warnings),
            cpu_s=process1 - process0,
        )
        await _toggle_run(app, pilot, False)
    return window


def app_window(seconds: float, warmup_s: float, profiler: cProfile.Profile | None = None) -> Window:
    return asyncio.run(_app_window(seconds, warmup_s, profiler))


def run_mode(
    rounds: int, seconds: float, warmup_s: float, profiler: cProfile.Profile | None = None
) -> tuple[list[Window], list[Window]]:
    headless: list[Window] = []
    app: list[Window] = []
    for _ in range(rounds):
        time.sleep(0.2)  # let BLAS threads of the previous contender go quiet
        headless.append(headless_window(seconds, warmup_s))
        time.sleep(0.2)
        app.append(app_window(seconds, warmup_s, profiler))
    return headless, app


# ---------------------------------------------------------------------------- the report
def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def _root() -> str:
    return str(Path(sa.__file__).resolve().parents[1]) + "/"


def print_profile(profiler: cProfile.Profile, top: int, out) -> None:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("cumulative").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print("```", file=out)
    for line in lines[start:]:
        if line.strip():
            line = line.replace(_root(), "")
            # no paths of this machine: site-packages and the standard library by module
            print(re.sub(r"\S*/(site-packages|lib/python3\.\d+)/", "", line), file=out)
    print("```", file=out)


def run(
    presses: int = 50,
    rounds: int = 3,
    seconds: float = 3.0,
    warmup_s: float = 0.5,
    profile: bool = False,
    key_warmup: int = 3,
    out=sys.stdout,
) -> dict[str, float]:
    keys = key_latency(presses, key_warmup)
    print(f"Key `n` on the lesson's MLP, {SIZE[0]}×{SIZE[1]}, {presses} presses:\n", file=out)
    print("| | median | p90 |", file=out)
    print("|---|---:|---:|", file=out)
    for label, values in (
        ("**`n` → screen update showing the new step**", keys.total),
        ("&nbsp;&nbsp;key dispatch (key sent → advance starts)", keys.dispatch),
        ("&nbsp;&nbsp;`stepper.advance(BATCH)` inside the app", keys.advance),
        ("&nbsp;&nbsp;`refresh_panels` (every panel from the stepper)", keys.refresh),
        ("&nbsp;&nbsp;wait for the screen's next frame", keys.wait),
        ("&nbsp;&nbsp;compositor render + terminal encoding", keys.render),
        ("bare `stepper.advance(Granularity.BATCH)`, no app, back to back", keys.bare),
        ("bare `stepper.advance(Granularity.BATCH)`, no app, 40 ms idle before", keys.bare_idle),
    ):
        print(
            f"| {label} | {_ms(statistics.median(values))} | {_ms(percentile(values, 90))} |",
            file=out,
        )

    headless, app = run_mode(rounds, seconds, warmup_s)
    ratios = [a.rate / h.rate for h, a in zip(headless, app, strict=True)]
    cpu_ratios = [a.cpu_rate / h.cpu_rate for h, a in zip(headless, app, strict=True)]
    print(
        f"\nRun mode against headless, {rounds} interleaved rounds of {seconds:g} s each "
        "(headless, app, headless, app, ...), breakpoints off:\n",
        file=out,
    )
    print(
        "| round | headless steps/s | app run mode steps/s | app / headless (wall) | "
        "headless steps/CPU-s | app steps/CPU-s | app / headless (per CPU-second) |",
        file=out,
    )
    print("|---|---:|---:|---:|---:|---:|---:|", file=out)
    rounds_data = zip(headless, app, ratios, cpu_ratios, strict=True)
    for i, (h, a, ratio, cpu_ratio) in enumerate(rounds_data, 1):
        print(
            f"| {i} | {h.rate:.0f} | {a.rate:.0f} | {ratio:.2f} | {h.cpu_rate:.0f} | "
            f"{a.cpu_rate:.0f} | {cpu_ratio:.2f} |",
            file=out,
        )
    h_med = statistics.median(w.rate for w in headless)
    a_med = statistics.median(w.rate for w in app)
    ratio_med = statistics.median(ratios)
    cpu_med = statistics.median(cpu_ratios)
    print(
        f"| **median** | **{h_med:.0f}** | **{a_med:.0f}** | **{ratio_med:.2f}** | "
        f"**{statistics.median(w.cpu_rate for w in headless):.0f}** | "
        f"**{statistics.median(w.cpu_rate for w in app):.0f}** | **{cpu_med:.2f}** |",
        file=out,
    )
    per_s = [
        (w.refreshes / w.seconds, w.refresh_s / w.seconds, w.updates / w.seconds, w.ui_cpu_s)
        for w in app
    ]
    refreshes_s = statistics.median(p[0] for p in per_s)
    refresh_share = statistics.median(p[1] for p in per_s)
    updates_s = statistics.median(p[2] for p in per_s)
    ui_share = statistics.median(w.ui_cpu_s / w.seconds for w in app)
    refresh_each = statistics.median(w.refresh_s / w.refreshes for w in app if w.refreshes)
    print(
        f"\nIn run mode (medians over the app's windows): {refreshes_s:.1f} panel refreshes/s "
        f"(throttle {RUN_REFRESH_SECONDS:g} s), {_ms(refresh_each)} each, "
        f"{refresh_share:.0%} of the wall time; {updates_s:.1f} screen updates/s; "
        f"the UI thread used {ui_share:.0%} of one core; "
        f"{statistics.median(w.warnings for w in app):.0f} warnings in the stepper at the end.",
        file=out,
    )
    n_med = statistics.median(keys.total)
    print("\nRows for the README's Performance table (this run):\n", file=out)
    print("| what | measured | aim | |\n|---|---:|---:|---|", file=out)
    print(
        f"| debugger run mode / headless, steps per CPU-second | {cpu_med:.3f} "
        f"({min(cpu_ratios):.2f}–{max(cpu_ratios):.2f}) | ≥ 0.8 | "
        f"{'met' if cpu_med >= 0.8 else '**missed**'} |",
        file=out,
    )
    print(
        f"| debugger run mode / headless, steps per wall-clock second | {ratio_med:.2f} "
        f"({min(ratios):.2f}–{max(ratios):.2f}) | - | - |",
        file=out,
    )
    print(
        f"| key `n` → screen shows the new step, lesson MLP | {_ms(n_med)} median, "
        f"{_ms(percentile(keys.total, 90))} p90 | one frame (16.7 ms) | "
        f"{'met' if n_med <= 1 / 60 else '**missed**'} |",
        file=out,
    )
    print(f"\n- textual {version('textual')}", file=out)
    for line in blas_info():
        print(f"- {line}", file=out)

    if profile:
        profiler = cProfile.Profile()
        app_window(seconds, warmup_s, profiler)
        print(
            f"\ncProfile of the UI thread during one {seconds:g} s run-mode window "
            "(cumulative time; the training thread is not profiled):",
            file=out,
        )
        print_profile(profiler, 30, out)
    return {
        "n_to_screen_median": statistics.median(keys.total),
        "n_to_screen_p90": percentile(keys.total, 90),
        "bare_advance_median": statistics.median(keys.bare),
        "headless_steps_per_s": h_med,
        "app_steps_per_s": a_med,
        "ratio": ratio_med,
        "cpu_ratio": cpu_med,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few presses, short windows")
    parser.add_argument("--presses", type=int, help="presses of n (default 50)")
    parser.add_argument("--window", type=float, help="seconds per run-mode window (default 3)")
    parser.add_argument("--rounds", type=int, help="headless/app round pairs (default 3)")
    parser.add_argument("--profile", action="store_true", help="cProfile the UI during a run")
    args = parser.parse_args(argv)
    presses, rounds, seconds, warmup_s = (5, 1, 0.5, 0.1) if args.quick else (50, 3, 3.0, 0.5)
    run(
        presses=args.presses or presses,
        rounds=args.rounds or rounds,
        seconds=args.window or seconds,
        warmup_s=warmup_s,
        profile=args.profile,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
