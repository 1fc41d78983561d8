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
- engine run: ``Stepper.run(max_steps=25)`` per batch (run mode and the headless command)

Then the engine step split into its parts (each timed in place: the training itself, the
snapshot, the probes, the rules, the history, and the rest), and a cProfile of engine steps
listing the functions with the most own time.

    python benchmarks/probe_cost.py [--quick] [--profile-steps N]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable

from step_time import blas_info, interleaved

import scratchai as sa
from scratchai.engine import Breakpoints, Granularity, Settings, Stepper, load_demo

NO_BREAKPOINTS = Breakpoints.none()


def lesson_experiment(seed: int = 0):
    """The ``mlp`` demo, seeded like the CLI seeds it, without its validation pass."""
    sa.manual_seed(seed)
    experiment = load_demo("mlp")
    experiment.val_data = None
    return experiment


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


def engine_advance(settings: Settings | None = None) -> tuple[Stepper, Callable[[], object]]:
    stepper = Stepper(lesson_experiment(), settings, NO_BREAKPOINTS)
    stepper.advance(Granularity.BATCH)  # leaves DEFINED/REGISTERED and does a first batch
    return stepper, lambda: stepper.advance(Granularity.BATCH)


class EngineRun:
    """``Stepper.run`` in chunks; ``step()`` accounts one batch, running a chunk when needed."""

    def __init__(self, settings: Settings | None = None, chunk: int = 25) -> None:
        self.stepper = Stepper(lesson_experiment(), settings, NO_BREAKPOINTS)
        self.stepper.advance(Granularity.BATCH)
        self.chunk = chunk
        self.left = 0

    def step(self) -> None:
        if self.left == 0:
            self.stepper.run(max_steps=self.chunk)  # like the headless runner's chunks
            self.left = self.chunk
        self.left -= 1


def time_calls(fn: Callable[[], object], n: int, repeat: int = 5) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` blocks of ``n`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


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
    ("timeline", "before_batch", "snapshots for rewind (`Timeline.before_batch`)", 0),
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

    Each wrapper adds a ``perf_counter`` pair (~0.1 µs per call), so parts are slight
    overestimates.
    """
    import scratchai.engine.stepper as stepper_module

    stepper, advance = engine_advance()
    for _ in range(20):
        advance()
    experiment = stepper.experiment
    monitor = stepper._monitor
    owners = {
        "module": stepper_module,
        "timeline": stepper._timeline,
        "monitor": monitor,
        "probes": monitor.probes,
        "history": stepper.history,
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
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if counts:
                    spent[label] += time.perf_counter() - start
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
        start = time.perf_counter()
        for _ in range(steps):
            advance()
        total = (time.perf_counter() - start) / steps
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


def run(quick: bool = False, profile_steps: int | None = None, out=sys.stdout) -> dict[str, float]:
    rounds = 3 if quick else 15
    target_s = 0.01 if quick else 0.1
    variants: dict[str, Callable[[], object]] = {
        "bare (scratchai loop, with loader)": bare_step(lesson_experiment()),
        "bare, fixed batch (no loader)": bare_step(lesson_experiment(), use_loader=False),
        "engine: advance(BATCH), probes only (rewind=False)": engine_advance(
            Settings(rewind=False)
        )[1],
        "engine: advance(BATCH), probes + snapshots (default settings)": engine_advance()[1],
        "engine: run(max_steps=25) per batch, default settings": EngineRun().step,
    }
    timings = interleaved(variants, rounds, target_s, gap_s=0.0)
    medians = {name: t.median for name, t in timings.items()}
    bare = medians["bare (scratchai loop, with loader)"]
    print("| lesson MLP 128→64→10, batch 32 | per step | / bare step |", file=out)
    print("|---|---:|---:|", file=out)
    for name, median in medians.items():
        print(f"| {name} | {median * 1e6:.1f} µs | {median / bare:.2f} |", file=out)
    print(f"\nMedian of {rounds} interleaved rounds.", file=out)
    for line in blas_info():
        print(f"- {line}", file=out)
    if not quick or profile_steps:
        breakdown(200 if quick else 3000, bare, out)
        profile_engine(profile_steps or 3000, 25, out)
    return medians


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds, no profile")
    parser.add_argument("--profile-steps", type=int, help="engine steps under cProfile")
    args = parser.parse_args(argv)
    run(quick=args.quick, profile_steps=args.profile_steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
