"""How the engine and the debugger scale with the depth of the model: the cost per module.

A model of ``depth`` pairs ``Linear(16, 16)``, ``ReLU`` (``2 × depth`` modules under one
``Sequential``; identity weights, so 2,000 layers neither vanish nor explode into denormals),
cross-entropy over 16 classes, SGD, batch 16. At each depth (10, 100, 1000, 2000 pairs):

- **bare**: the training step in a plain scratchai loop (no engine), for reference;
- **step**: ``Stepper.advance(Granularity.BATCH)``, what ``n`` and every step of a run do;
- **p**: one whole batch by ``advance(Granularity.PHASE)`` ×4 (forward, loss, backward, update);
- **l**: one whole batch layer by layer, ``advance(Granularity.LAYER)`` until the step is done
  (one pause after every layer's forward and every layer's backward);
- **Stepper()**: building the stepper (one walk of the model, hooks).

Each is the median over several batches of process CPU time (``time.process_time``: it also
counted the second thread stepping layers used before issue 21), with BLAS capped at one
thread. Every cost is also
divided by the number of modules: if the engine is linear in the depth, that column stays
flat as the depth grows 200-fold.

Then the debugger (``scratchtui.app.ScratchApp`` under Textual's Pilot, 120×40) with 10, 100
and 1,000 modules: the time from creating the app to its first screen drawn and idle, and key
``n`` to the screen update that shows the new step (wall-clock time: this is what a person
waits).

    python benchmarks/scaling.py [--quick] [--depths 10,100,1000,2000] [--no-app]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from step_time import CLOCK_NAMES, CLOCKS, blas_info, limit_threads

import scratchai as sa
from scratchai.engine import Breakpoints, Experiment, Granularity, Stepper

WIDTH = 16
BATCH = 16
DEPTHS = (10, 100, 1000, 2000)
APP_MODULES = (10, 100, 1000)


def deep_experiment(depth: int, seed: int = 0) -> Experiment:
    """``depth`` pairs of Linear(16, 16) and ReLU; identity weights, zero biases."""
    sa.manual_seed(seed)
    rng = np.random.default_rng(seed)
    layers: list[sa.Module] = []
    for _ in range(depth):
        linear = sa.Linear(WIDTH, WIDTH)
        linear.W.data[...] = np.eye(WIDTH, dtype=np.float32)
        linear.b.data[...] = 0.0
        layers += [linear, sa.ReLU()]
    model = sa.Sequential(*layers)
    X = np.abs(rng.standard_normal((16 * BATCH, WIDTH))).astype(np.float32)
    y = rng.integers(0, WIDTH, 16 * BATCH)
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=1e-4),
        train_loader=sa.DataLoader(sa.ArrayDataset(X, y), batch_size=BATCH, shuffle=True),
        name=f"deep-{depth}",
    )


def modules_of(depth: int) -> int:
    return 2 * depth


def _median_time(fn: Callable[[], object], reps: int, clock: Callable[[], float]) -> float:
    samples = []
    for _ in range(reps):
        gc.collect()  # a collection inside one sample would be charged to it alone
        start = clock()
        fn()
        samples.append(clock() - start)
    return statistics.median(samples)


def _batch_by(stepper: Stepper, granularity: Granularity) -> Callable[[], int]:
    """One whole batch by advances of ``granularity``; returns how many advances it took."""

    def batch() -> int:
        target, calls = stepper.step + 1, 0
        while stepper.step < target:
            stepper.advance(granularity)
            calls += 1
        return calls

    return batch


def engine_costs(depth: int, reps: int, clock: Callable[[], float]) -> dict[str, float]:
    """Seconds (median over ``reps`` batches) of bare, step, p, l and building the stepper."""
    experiment = deep_experiment(depth)
    model, loss, opt, loader = (
        experiment.model,
        experiment.loss,
        experiment.optimizer,
        experiment.train_loader,
    )

    def bare() -> None:
        xb, yb, *_ = loader.next_batch()
        opt.zero_grad()
        loss(model(xb), yb)
        model.backward(loss.backward(), input_grad=False)
        opt.step()

    bare()
    costs = {"bare": _median_time(bare, reps, clock)}
    quiet = Breakpoints.none()
    builds = []
    for _ in range(max(3, reps // 2)):
        gc.collect()
        start = clock()
        stepper = Stepper(deep_experiment(depth), breakpoints=quiet)
        builds.append(clock() - start)
        stepper.close()
    costs["build"] = statistics.median(builds)
    stepper = Stepper(experiment, breakpoints=quiet)
    try:
        stepper.advance(Granularity.BATCH)  # registration and a first batch
        costs["step"] = _median_time(lambda: stepper.advance(Granularity.BATCH), reps, clock)
        phases = _batch_by(stepper, Granularity.PHASE)
        if phases() != 4:
            raise RuntimeError("a batch is not 4 phase advances")
        costs["p"] = _median_time(phases, reps, clock)
        layers = _batch_by(stepper, Granularity.LAYER)
        costs["l_advances"] = layers()
        costs["l"] = _median_time(layers, max(1, reps // 2), clock)
    finally:
        stepper.close()
    return costs


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def engine_table(depths: tuple[int, ...], reps: int, clock: str, out) -> dict[int, dict]:
    timer = CLOCKS[clock]
    results = {depth: engine_costs(depth, reps, timer) for depth in depths}
    columns = ("bare", "step", "p", "l", "build")
    labels = ("bare step", "step `advance(BATCH)`", "`p` ×4", "`l` (whole batch)", "`Stepper()`")
    print(
        "| pairs | modules | "
        + " | ".join(labels)
        + " | "
        + " | ".join(f"{label} per module" for label in labels)
        + " |",
        file=out,
    )
    print("|---:|---:|" + "---:|" * (2 * len(columns)), file=out)
    for depth, costs in results.items():
        n = modules_of(depth)
        totals = " | ".join(_fmt(costs[c]) for c in columns)
        per_module = " | ".join(f"{costs[c] / n * 1e6:.1f} µs" for c in columns)
        print(f"| {depth} | {n} | {totals} | {per_module} |", file=out)
    for small, big in itertools.pairwise(depths):
        extra = modules_of(big) - modules_of(small)
        marginal = " | ".join(
            f"{(results[big][c] - results[small][c]) / extra * 1e6:.1f} µs" for c in columns
        )
        print(
            f"| {small}→{big} | +{extra} | {' | '.join('' for _ in columns)} | {marginal} |",
            file=out,
        )
    last = depths[-1]
    print(
        f"\nMedians over {reps} batches ({max(1, reps // 2)} for `l`, {max(3, reps // 2)} "
        f"builds), {CLOCK_NAMES[clock]}; `l` takes {results[last]['l_advances']:.0f} advances "
        f"per batch at {last} pairs. The `a→b` rows: the extra cost per extra module from one "
        "depth to the next (linear growth: the same at every depth; at small depths the "
        "per-module column also carries the fixed cost of a step).",
        file=out,
    )
    return results


# ---------------------------------------------------------------------------- the app
async def _app_costs(pairs: int, presses: int) -> dict[str, float]:
    from tui import SIZE, ScreenWatch

    from scratchtui.app import ScratchApp

    stepper = Stepper(deep_experiment(pairs))
    start = time.perf_counter()
    app = ScratchApp(stepper)
    watch = ScreenWatch(app, encode=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        opened = max((when for when, _ in watch.updates), default=time.perf_counter()) - start
        latencies = []
        for _ in range(presses + 1):  # the first press is a warm-up
            target = stepper.step + 1
            sent = time.perf_counter()
            await pilot.press("n")
            deadline = sent + 30
            while (shown := watch.shown(target, sent)) is None:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"the screen never showed step {target}")
                await pilot.pause()
            latencies.append(shown - sent)
    return {"open": opened, "n": statistics.median(latencies[1:])}


def app_table(modules: tuple[int, ...], presses: int, out) -> dict[int, dict]:
    results = {n: asyncio.run(_app_costs(n // 2, presses)) for n in modules}
    print(
        "\n| modules | app open → first screen, idle | per module | `n` → screen | per module |",
        file=out,
    )
    print("|---:|---:|---:|---:|---:|", file=out)
    for n, costs in results.items():
        print(
            f"| {n} | {_fmt(costs['open'])} | {costs['open'] / n * 1e6:.0f} µs | "
            f"{_fmt(costs['n'])} | {costs['n'] / n * 1e6:.0f} µs |",
            file=out,
        )
    for small, big in itertools.pairwise(modules):
        extra = big - small
        d_open = (results[big]["open"] - results[small]["open"]) / extra
        d_n = (results[big]["n"] - results[small]["n"]) / extra
        print(f"| {small}→{big} | | {d_open * 1e6:.0f} µs | | {d_n * 1e6:.0f} µs |", file=out)
    print(
        f"\n`ScratchApp` under Pilot, wall-clock time; `n`: median of {presses} presses, up to "
        "the first screen update that shows the new step (encoded as for a terminal). The `a→b` "
        "rows: the extra time per extra module.",
        file=out,
    )
    return results


def run(
    depths: tuple[int, ...] = DEPTHS,
    reps: int = 9,
    app_modules: tuple[int, ...] = APP_MODULES,
    presses: int = 5,
    clock: str = "process",
    out=sys.stdout,
) -> dict[str, dict]:
    results: dict[str, dict] = {"engine": engine_table(depths, reps, clock, out)}
    if app_modules:
        results["app"] = app_table(app_modules, presses, out)
    print(file=out)
    for line in blas_info():
        print(f"- {line}", file=out)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="depths 10 and 100, few batches")
    parser.add_argument("--depths", help="comma-separated Linear/ReLU pairs (default 10,...,2000)")
    parser.add_argument("--no-app", action="store_true", help="leave the debugger out")
    parser.add_argument("--threads", type=int, default=1, help="cap BLAS threads (0: as is)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="process")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    depths = (10, 100) if args.quick else DEPTHS
    if args.depths:
        depths = tuple(int(d) for d in args.depths.split(","))
    app_modules = () if args.no_app else ((10, 100) if args.quick else APP_MODULES)
    run(
        depths=depths,
        reps=3 if args.quick else 9,
        app_modules=app_modules,
        presses=2 if args.quick else 5,
        clock=args.clock,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
