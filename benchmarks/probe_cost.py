"""What the engine's probes and snapshots cost: the lesson's step bare against through the engine.

The model, loss, optimizer and data are the ``mlp`` demo's (Linear 128→64, ReLU, Linear 64→10,
cross-entropy, SGD, batch 32), built twice from the same seed: one copy is trained by a plain
scratchai loop, the other by ``scratchai.engine.Stepper``, which on every batch also takes a
snapshot (copies of the parameters, optimizer, RNG and loader state, for rewind) and computes
the probes (per-module and per-parameter statistics, rules, history). Validation is switched
off (``val_data=None``) so every timed step is one training batch.

Variants, interleaved round by round, median per step:

- bare: ``loader.next_batch()``, ``zero_grad``, forward, loss, backward, ``optimizer.step()``
- bare, fixed batch: the same without the loader (what ``step_time.py`` times)
- engine, probes only: ``Stepper(..., Settings(rewind=False)).advance(Granularity.BATCH)``
  (no rewind, so no snapshot is taken)
- engine, probes + snapshots: the same with the default settings (what the TUI's ``n`` does)
- engine run: ``Stepper.run(max_steps=25)``, timed per call and divided by the 25 batches it
  trains (run mode and the headless command run in such chunks)

The same for 784→1024→1024→10 at batch 256 (random data, ``--no-big`` leaves it out), where
the engine's per-step work should vanish next to the matrix products. Times are thread CPU
time (``time.thread_time``) with BLAS capped at one thread (``--threads``, ``--clock``); the
ratios are medians of per-round ratios, with their range.

Then the engine step split into its parts (each timed in place: the training itself, the
snapshot, the probes, the rules, the history, and the rest), and a cProfile of engine steps
listing the functions with the most own time.

    python benchmarks/probe_cost.py [--quick] [--no-big] [--profile-steps N] [--clock thread]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable

import numpy as np
from step_time import CLOCK_NAMES, CLOCKS, Ratio, blas_info, interleaved, limit_threads

import scratchai as sa
from scratchai.engine import Breakpoints, Experiment, Granularity, Settings, Stepper, load_demo

NO_BREAKPOINTS = Breakpoints.none()


def lesson_experiment(seed: int = 0):
    """The ``mlp`` demo, seeded like the CLI seeds it, without its validation pass."""
    sa.manual_seed(seed)
    experiment = load_demo("mlp")
    experiment.val_data = None
    return experiment


def big_experiment(seed: int = 0, widths=(784, 1024, 1024, 10), batch: int = 256):
    """784→1024→1024→10 (ReLU between), cross-entropy, SGD lr 0.01, 8 batches of random data."""
    sa.manual_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((8 * batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], 8 * batch)
    layers: list[sa.Module] = []
    for i in range(len(widths) - 1):
        layers.append(sa.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(sa.ReLU())
    model = sa.Sequential(*layers)
    return Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.01),
        train_loader=sa.DataLoader(sa.ArrayDataset(X, y), batch_size=batch, shuffle=True),
        name="784-1024-1024-10",
    )


def bare_step(experiment, use_loader: bool = True) -> Callable[[], float]:
    model, loss_fn, opt, loader = (
        experiment.model,
        experiment.loss,
        experiment.optimizer,
        experiment.train_loader,
    )
    xb0, yb0, *_ = loader.next_batch()

    def step() -> float:
        if use_loader:
            xb, yb, *_ = loader.next_batch()
        else:
            xb, yb = xb0, yb0
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        model.backward(loss_fn.backward(), input_grad=False)
        opt.step()
        return float(loss)

    return step


def engine_advance(
    settings: Settings | None = None, experiment=None
) -> tuple[Stepper, Callable[[], object]]:
    experiment = experiment if experiment is not None else lesson_experiment()
    stepper = Stepper(experiment, settings, NO_BREAKPOINTS)
    stepper.advance(Granularity.BATCH)  # leaves DEFINED/REGISTERED and does a first batch
    return stepper, lambda: stepper.advance(Granularity.BATCH)


class EngineRun:
    """``Stepper.run(max_steps=chunk)``: one call trains ``chunk`` batches (``units`` of
    ``interleaved``, which divides the time of each call by them)."""

    def __init__(self, settings: Settings | None = None, chunk: int = 25, experiment=None) -> None:
        experiment = experiment if experiment is not None else lesson_experiment()
        self.stepper = Stepper(experiment, settings, NO_BREAKPOINTS)
        self.stepper.advance(Granularity.BATCH)
        self.chunk = chunk

    def step(self) -> None:
        before = self.stepper.step
        self.stepper.run(max_steps=self.chunk)  # like the headless runner's chunks
        if self.stepper.step - before != self.chunk:
            raise RuntimeError(f"run(max_steps={self.chunk}) trained {self.stepper.step - before}")


def profile_engine(steps: int, top: int, out) -> None:
    _, advance = engine_advance()
    for _ in range(50):
        advance()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        advance()
    profiler.disable()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    print(
        f"\ncProfile of {steps} engine steps (advance BATCH), by own time "
        "(cProfile inflates Python-call-heavy code; use it for the ranking, not the totals):",
        file=out,
    )
    print("```", file=out)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    for line in lines[start:]:
        if line.strip():
            print(line.replace(str(_root()), ""), file=out)
    print("```", file=out)


def _root() -> str:
    from pathlib import Path

    return str(Path(sa.__file__).resolve().parents[1]) + "/"


# (where, attribute, label, level): the parts of an engine step to time in place. Level 0 parts
# do not overlap; a level 1 part is included in the level 0 part above it. A part the engine
# does not have (it changes as the engine is optimised) is skipped.
_PARTS = [
    ("loader", "next_batch", "loader `next_batch`", 0),
    ("model", "forward", "model forward (with the recording hook)", 0),
    ("loss", "forward", "loss forward", 0),
    ("loss", "backward", "loss backward", 0),
    ("model", "backward", "model backward", 0),
    ("optimizer", "step", "optimizer `step`", 0),
    ("module", "squared_norm", "gradient norms before the update (`squared_norm`)", 0),
    ("timeline", "before_batch", "snapshot for rewind (`Timeline.before_batch`)", 0),
    ("monitor", "step", "probes + record + rules (`Monitor.step`)", 0),
    ("probes", "params", "parameter probes (`Probes.params`)", 1),
    ("probes", "modules", "module probes (`Probes.modules`)", 1),
    ("probes", "buffers", "buffer probes (`Probes.buffers`)", 1),
    ("monitor", "_judge", "rules + breakpoints (`Monitor._judge`)", 1),
    ("history", "append", "history (`History.append`)", 0),
]
_TRAINING = {"loader", "model", "loss", "optimizer"}  # what the bare step does too


def breakdown(steps: int, bare: float, out) -> None:
    """Split the engine step by timing its parts in place (wrappers around the stepper's calls).

    Thread CPU time (other load on the machine does not count). Each wrapper adds a pair of
    ``thread_time`` calls (a few tenths of a µs), so parts are slight overestimates.
    """
    import scratchai.engine.stepper as stepper_module

    stepper, advance = engine_advance()
    for _ in range(20):
        advance()
    experiment = stepper.experiment
    # Private parts of the engine: any that moved or went away are left out of the split.
    monitor = getattr(stepper, "_monitor", None)
    owners = {
        "module": stepper_module,
        "timeline": stepper.travel.timeline,
        "monitor": monitor,
        "probes": getattr(monitor, "probes", None),
        "history": getattr(stepper, "history", None),
        "loader": experiment.train_loader,
        "model": experiment.model,
        "loss": experiment.loss,
        "optimizer": experiment.optimizer,
    }
    spent: dict[str, float] = {}
    restore: list[tuple[object, str, object, bool]] = []

    inside = [0]  # level 0 parts running now: a level 0 part called inside one is not counted

    def timed(label: str, fn: Callable, level: int) -> Callable:
        def wrapper(*args, **kwargs):
            counts = level > 0 or inside[0] == 0
            inside[0] += level == 0
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                if counts:
                    spent[label] += time.thread_time() - start
                inside[0] -= level == 0

        return wrapper

    try:
        for where, name, label, level in _PARTS:
            owner = owners[where]
            fn = getattr(owner, name, None) if owner is not None else None
            if not callable(fn):
                continue
            spent[label] = 0.0
            restore.append((owner, name, fn, name in vars(owner)))
            setattr(owner, name, timed(label, fn, level))
        start = time.thread_time()
        for _ in range(steps):
            advance()
        total = (time.thread_time() - start) / steps
    finally:
        for owner, name, fn, was_own in reversed(restore):
            if was_own:
                setattr(owner, name, fn)
            else:
                delattr(owner, name)
    print(
        f"\nWhere an engine step's time goes ({steps} `advance(BATCH)` calls, each part timed "
        "in place; indented parts are included in the part above them):",
        file=out,
    )
    print("\n| part | µs per step | / bare step |", file=out)
    print("|---|---:|---:|", file=out)
    print(f"| whole engine step | {total * 1e6:.1f} | {total / bare:.2f} |", file=out)
    training = engine_extra = 0.0
    for where, _, label, level in _PARTS:
        if label not in spent:
            continue
        per_step = spent[label] / steps
        if level == 0 and where in _TRAINING:
            training += per_step
        elif level == 0:
            engine_extra += per_step
        indent = "&nbsp;&nbsp;&nbsp;&nbsp;" * level
        print(f"| {indent}{label} | {per_step * 1e6:.1f} | {per_step / bare:.2f} |", file=out)
    rest = total - training - engine_extra
    print(
        f"| the rest: zero_grad, the generator and its phases, locks, `Advance` | "
        f"{rest * 1e6:.1f} | {rest / bare:.2f} |",
        file=out,
    )
    print(
        f"\nTraining parts (loader, forward, loss, backward, step) add up to "
        f"{training * 1e6:.1f} µs, the engine's own work to {(total - training) * 1e6:.1f} µs "
        f"({(total - training) / bare:.2f} of a bare step).",
        file=out,
    )


BARE = "bare (scratchai loop, with loader)"
ADVANCE = "engine: advance(BATCH), probes + snapshots (default settings)"
RUN = "engine: run(max_steps=25), per batch, default settings"
#: (model, variant) -> (what, aim, test of the median ratio to the bare step): the issue's aims.
AIMS: dict[tuple[str, str], tuple[str, str, Callable[[float], bool]]] = {
    ("lesson", RUN): (
        "probed step in run mode (`run()`) / bare step, lesson MLP",
        "≤ 1.5",
        lambda r: r <= 1.5,
    ),
    ("lesson", ADVANCE): (
        "probed single step (`n`: `advance(BATCH)`) / bare step, lesson MLP",
        "≤ 1.8",
        lambda r: r <= 1.8,
    ),
    ("big", RUN): (
        "probed step in run mode / bare step, 784→1024→1024→10",
        "≤ 1.1",
        lambda r: r <= 1.1,
    ),
    ("big", ADVANCE): (
        "probed single step / bare step, 784→1024→1024→10",
        "≤ 1.1",
        lambda r: r <= 1.1,
    ),
}


def measure(
    model: str, rounds: int, target_s: float, clock: str, out
) -> dict[str, tuple[float, Ratio]]:
    """Time the variants on ``model`` ("lesson" or "big"); print the table; per variant the
    median seconds per step and its ``Ratio`` to the bare step."""
    make = lesson_experiment if model == "lesson" else big_experiment
    variants: dict[str, Callable[[], object]] = {BARE: bare_step(make())}
    if model == "lesson":
        variants["bare, fixed batch (no loader)"] = bare_step(make(), use_loader=False)
    variants["engine: advance(BATCH), probes only (rewind=False)"] = engine_advance(
        Settings(rewind=False), make()
    )[1]
    variants[ADVANCE] = engine_advance(None, make())[1]
    run_chunks = EngineRun(experiment=make())
    variants[RUN] = run_chunks.step
    timings = interleaved(
        variants, rounds, target_s, gap_s=0.0, clock=clock, units={RUN: run_chunks.chunk}
    )
    bare = timings[BARE]
    title = "lesson MLP 128→64→10, batch 32" if model == "lesson" else "784→1024→1024→10, batch 256"
    print(f"| {title} | per step | / bare step |", file=out)
    print("|---|---:|---:|", file=out)
    results = {}
    for name, timing in timings.items():
        ratio = Ratio.of(timing, bare)
        results[name] = (timing.median, ratio)
        per_step = timing.median
        shown = f"{per_step * 1e6:.1f} µs" if per_step < 1e-3 else f"{per_step * 1e3:.2f} ms"
        print(f"| {name} | {shown} | {ratio} |", file=out)
    print(
        f"\nMedian of {rounds} interleaved rounds, {CLOCK_NAMES[clock]}; ratios: median of the "
        "per-round ratios (range).\n",
        file=out,
    )
    return results


def run(
    quick: bool = False,
    profile_steps: int | None = None,
    big: bool = True,
    clock: str = "thread",
    out=sys.stdout,
) -> dict[str, float]:
    """Print the tables (and, unless quick, the breakdown and profile); returns the lesson
    variants' median seconds per step."""
    rounds = 3 if quick else 15
    target_s = 0.01 if quick else 0.1
    results = {"lesson": measure("lesson", rounds, target_s, clock, out)}
    if big:
        results["big"] = measure("big", 3 if quick else 7, 0.05 if quick else 0.5, clock, out)
    print("Rows for the README's Performance table (this run):\n", file=out)
    print("| what | measured | aim | |", file=out)
    print("|---|---:|---:|---|", file=out)
    for (model, variant), (what, aim, ok) in AIMS.items():
        if model in results:
            ratio = results[model][variant][1]
            verdict = "met" if ok(ratio.median) else "**missed**"
            print(f"| {what} | {ratio.median:.2f} | {aim} | {verdict} |", file=out)
    print(file=out)
    for line in blas_info():
        print(f"- {line}", file=out)
    medians = {name: median for name, (median, _) in results["lesson"].items()}
    if not quick or profile_steps:
        breakdown(200 if quick else 3000, medians[BARE], out)
        profile_engine(profile_steps or 3000, 25, out)
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds, no profile")
    parser.add_argument("--no-big", action="store_true", help="only the lesson's MLP")
    parser.add_argument("--profile-steps", type=int, help="engine steps under cProfile")
    parser.add_argument("--threads", type=int, default=1, help="cap BLAS threads (0: as is)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), help="default: thread (1 thread)")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    clock = args.clock or ("thread" if args.threads == 1 else "process")
    run(quick=args.quick, profile_steps=args.profile_steps, big=not args.no_big, clock=clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
