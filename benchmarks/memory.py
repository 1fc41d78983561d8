"""Memory: the headless run, the stepper's history, the whole stepper, and time travel.

1. The headless run of the ``mlp`` demo (``scratchtui.headless.run_headless``, what
   ``scratchtui demo mlp --headless --steps N`` runs) with breakpoints off
   (``Breakpoints.none()``), so that it really trains N steps, in a subprocess, for 200, 20,000
   and 100,000 steps: peak resident set size (``ru_maxrss`` of the child, read by a small
   wrapper process so no other child is counted). A long run must not grow.
2. ``History`` (the per-step scalars behind the loss chart) fed 100,000 steps, under
   ``tracemalloc``: its size at checkpoints and the peak, against a plain list of the rows.
3. A whole ``Stepper`` on the ``mlp`` demo with its breakpoints off, under ``tracemalloc``:
   memory it holds at checkpoints up to ``--stepper-steps`` (snapshots are bounded by
   the checkpoint budget, records by fixed-size deques, the history as above). It should level
   off once the history's full-resolution part is full (about 2 x ``history_capacity`` steps).
4. Time travel on 784→1024→1024→10 (batch 256): the memory a ``Stepper`` with the default
   settings (rewind checkpoints within ``Settings.rewind_budget_mb``) holds after 60 and 600
   steps, minus what the same stepper with ``Settings(rewind=False)`` holds (tracemalloc),
   against the size of the weights (aim: at most 4x). Also the checkpoints' own count
   (``stepper.travel.timeline.nbytes``) and the growth of the resident set.

    python benchmarks/memory.py [--quick] [--steps 200,20000,100000] [--stepper-steps 100000]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
import tracemalloc

MIB = 1024 * 1024

# Runs a command, then prints its peak RSS in KiB (Linux ru_maxrss unit; macOS reports bytes)
# and exit status on one line, and the command's last output line on the next.
_WRAPPER = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(rss if sys.platform != 'darwin' else rss // 1024, done.returncode)\n"
    "print((done.stdout.strip().splitlines() or [''])[-1])\n"
)


def peak_rss_mib(command: list[str]) -> tuple[float, int, float, str]:
    """Peak RSS in MiB, exit status, seconds and last output line of ``command``.

    The command runs under a fresh wrapper process, so no other child is counted.
    """
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True
    )
    elapsed = time.perf_counter() - start
    first, _, last = done.stdout.partition("\n")
    kib, status = first.split()
    return int(kib) / 1024, int(status), elapsed, last.strip()


# The headless command's run with breakpoints off: trains exactly argv[1] steps.
_HEADLESS = (
    "import io, sys\n"
    "from rich.console import Console\n"
    "import scratchai as sa\n"
    "from scratchai.engine import Breakpoints, Stepper, load_demo\n"
    "from scratchtui.headless import run_headless\n"
    "steps = int(sys.argv[1])\n"
    "sa.manual_seed(0)\n"
    "with Stepper(load_demo('mlp'), breakpoints=Breakpoints.none()) as stepper:\n"
    "    status = run_headless(stepper, steps, Console(file=io.StringIO(), width=100))\n"
    "    loss = stepper.last_step.loss if stepper.last_step else float('nan')\n"
    "    print(f'trained {stepper.step} steps, loss {loss:.4f}, "
    "{len(stepper.warnings)} warnings')\n"
    "sys.exit(status)\n"
)


def headless(steps_list: list[int], out) -> None:
    print("| command | exit | seconds | last line | peak RSS |", file=out)
    print("|---|---:|---:|---|---:|", file=out)
    imports = "import scratchai.engine, scratchtui.cli"
    baseline, _, _, _ = peak_rss_mib([sys.executable, "-c", imports])
    print(f"| `python -c '{imports}'` | 0 | - | - | {baseline:.1f} MiB |", file=out)
    for steps in steps_list:
        command = [sys.executable, "-c", _HEADLESS, str(steps)]
        rss, status, seconds, last = peak_rss_mib(command)
        print(
            f"| headless `mlp`, breakpoints off, {steps:,} steps | {status} | {seconds:.1f} | "
            f"{last} | {rss:.1f} MiB |",
            file=out,
        )


def history(steps: int, out) -> None:
    from scratchai.engine import Settings
    from scratchai.engine.timeline.history import History

    capacity = Settings().history_capacity
    checkpoints = sorted({1_000, 10_000, steps // 2, steps})
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        h = History(capacity)  # its rings are allocated up front: counted from here
        sizes = {}
        for step in range(1, steps + 1):
            h.append(step, 2.3 / step, 0.5, 1.0, 0.1)
            if step in checkpoints:
                sizes[step] = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
        del h
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        rows = [(float(s), 2.3 / s, 0.5, 1.0, 0.1) for s in range(1, steps + 1)]
        unbounded = tracemalloc.get_traced_memory()[0] - base
        del rows
    finally:
        tracemalloc.stop()
    print(f"\n`History(capacity={capacity})` fed {steps:,} steps (tracemalloc):\n", file=out)
    print("| steps | history size |", file=out)
    print("|---:|---:|", file=out)
    for step, size in sizes.items():
        print(f"| {step:,} | {size / MIB:.2f} MiB |", file=out)
    print(
        f"\nPeak {peak / MIB:.2f} MiB; a plain list of the same {steps:,} rows would hold "
        f"{unbounded / MIB:.2f} MiB and keep growing.",
        file=out,
    )


def stepper(steps: int, out) -> None:
    import scratchai as sa
    from scratchai.engine import Breakpoints, Granularity, Stepper, load_demo

    sa.manual_seed(0)
    experiment = load_demo("mlp")
    quiet = Breakpoints.none()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        s = Stepper(experiment, breakpoints=quiet)
        s.advance(Granularity.BATCH)
        wanted = {1_000, 10_000, 30_000, steps // 2, steps}
        checkpoints = sorted(c for c in wanted if 0 < c <= steps)
        sizes = {}
        while s.step < steps:
            s.run(max_steps=min(500, min(c for c in checkpoints if c > s.step) - s.step))
            if s.step in checkpoints:
                sizes[s.step] = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    budget = s.travel.timeline.budget if s.travel.timeline else 0
    print(
        f"\nA `Stepper` on the `mlp` demo (rewind checkpoints within {budget / 2**20:.0f} MiB, "
        "validation each epoch), "
        "memory it holds (tracemalloc, model and data included):\n",
        file=out,
    )
    print("| steps | held |", file=out)
    print("|---:|---:|", file=out)
    for step, size in sizes.items():
        print(f"| {step:,} | {size / MIB:.2f} MiB |", file=out)
    print(f"\nPeak {peak / MIB:.2f} MiB.", file=out)


def _rss_mib() -> float:
    """Resident set size now (Linux ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * resource.getpagesize() / MIB


def time_travel(checkpoints: list[int], out) -> dict[int | str, float]:
    """Memory for time travel on 784→1024→1024→10 after each of ``checkpoints`` steps, as a
    multiple of the weights' size: (held with rewind) - (held without), tracemalloc."""
    import gc

    from probe_cost import big_experiment

    from scratchai.engine import Breakpoints, Granularity, Settings, Stepper

    held: dict[str, dict[int, float]] = {}
    rss: dict[int, float] = {}
    timeline: dict[int, tuple[int, int]] = {}  # steps -> (checkpoints' bytes, how many)
    weights = budget = 0
    peaks: dict[str, int] = {}
    for name, settings in (("rewind", Settings()), ("no rewind", Settings(rewind=False))):
        experiment = big_experiment()
        weights = sum(p.data.nbytes for p in experiment.model.parameters())
        gc.collect()
        rss0 = _rss_mib()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            with Stepper(experiment, settings, Breakpoints.none()) as s:
                s.advance(Granularity.BATCH)
                held[name] = {}
                for target in checkpoints:
                    s.run(max_steps=target - s.step)
                    held[name][target] = tracemalloc.get_traced_memory()[0] - base
                    if name == "rewind":
                        rss[target] = _rss_mib() - rss0
                        line = s.travel.timeline
                        if line is not None:
                            timeline[target] = (line.nbytes, len(line.checkpoints))
                            budget = line.budget
                peaks[name] = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        del experiment
    print(
        f"\nTime travel on 784→1024→1024→10, batch 256: weights {weights / MIB:.2f} MiB, "
        f"checkpoint budget {budget / MIB:.1f} MiB (default `Settings`):\n",
        file=out,
    )
    print(
        "| steps | held with rewind | held without | time travel | / weights | "
        "checkpoints (`travel.timeline.nbytes`) | RSS growth with rewind |",
        file=out,
    )
    print("|---:|---:|---:|---:|---:|---:|---:|", file=out)
    ratios: dict[int | str, float] = {}
    for target in checkpoints:
        extra = held["rewind"][target] - held["no rewind"][target]
        ratios[target] = extra / weights
        nbytes, count = timeline.get(target, (0, 0))
        print(
            f"| {target} | {held['rewind'][target] / MIB:.1f} MiB | "
            f"{held['no rewind'][target] / MIB:.1f} MiB | {extra / MIB:.1f} MiB | "
            f"{ratios[target]:.2f}× | {nbytes / MIB:.1f} MiB ({count}) | "
            f"{rss[target]:.1f} MiB |",
            file=out,
        )
    peak_extra = max(peaks["rewind"] - peaks["no rewind"], 0)  # below zero is allocator noise
    ratios["peak"] = peak_extra / weights
    print(
        f"\nPeak over the whole run: {peaks['rewind'] / MIB:.1f} MiB with rewind, "
        f"{peaks['no rewind'] / MIB:.1f} MiB without: {peak_extra / MIB:.1f} MiB for time travel "
        f"at its highest ({ratios['peak']:.2f}× the weights; the checkpoints are thinned before "
        "a new one is taken). The resident set keeps what the process once used (the "
        "allocator does not return it), so its growth follows the peak, training's temporaries "
        "included.",
        file=out,
    )
    worst = max(ratios.values())
    print(
        "\nRow for the README's Performance table (this run):\n\n"
        "| what | measured | aim | |\n|---|---:|---:|---|\n"
        f"| memory for time travel, 784→1024→1024→10, after "
        f"{' / '.join(str(c) for c in checkpoints)} steps, peak / weights | "
        f"{' / '.join(f'{r:.2f}' for r in ratios.values())} | ≤ 4 | "
        f"{'met' if worst <= 4 else '**missed**'} |",
        file=out,
    )
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument(
        "--steps", default="200,20000,100000", help="headless runs (comma-separated steps)"
    )
    parser.add_argument("--history-steps", type=int, default=100_000)
    parser.add_argument("--stepper-steps", type=int, default=100_000)
    parser.add_argument("--travel-steps", default="60,600", help="784-1024-1024-10 checkpoints")
    args = parser.parse_args(argv)
    steps = [int(n) for n in args.steps.split(",")]
    travel = [int(n) for n in args.travel_steps.split(",")]
    if args.quick:
        steps, args.history_steps, args.stepper_steps, travel = [200, 500], 10_000, 1_000, [5, 30]
    headless(steps, sys.stdout)
    history(args.history_steps, sys.stdout)
    stepper(args.stepper_steps, sys.stdout)
    time_travel(travel, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
