"""Peak memory: the headless demo run, and the stepper's history over 100,000 steps.

1. ``scratchtui demo mlp --headless --steps N`` in a subprocess, for a short and a long run:
   peak resident set size (``ru_maxrss`` of the child, read by a small wrapper process so no
   other child is counted). What matters is the difference: a long run must not grow.
2. ``History`` (the per-step scalars behind the loss chart) fed 100,000 steps, under
   ``tracemalloc``: its size at checkpoints and the peak, against a plain list of the rows.
3. A whole ``Stepper`` on the ``mlp`` demo with its breakpoints off, under ``tracemalloc``:
   memory it holds at checkpoints up to ``--stepper-steps`` (snapshots are bounded by
   the checkpoint budget, records by fixed-size deques, the history as above). It should level
   off once the history's full-resolution part is full (about 2 x ``history_capacity`` steps).

    python benchmarks/memory.py [--quick] [--steps 20000] [--stepper-steps 30000]
"""

from __future__ import annotations

import argparse
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


def headless(steps_list: list[int], out) -> None:
    print("| command | exit | seconds | last line | peak RSS |", file=out)
    print("|---|---:|---:|---|---:|", file=out)
    imports = "import scratchai.engine, scratchtui.cli"
    baseline, _, _, _ = peak_rss_mib([sys.executable, "-c", imports])
    print(f"| `python -c '{imports}'` | 0 | - | - | {baseline:.1f} MiB |", file=out)
    for steps in steps_list:
        command = [
            sys.executable,
            "-m",
            "scratchtui.cli",
            "demo",
            "mlp",
            "--headless",
            "--steps",
            str(steps),
        ]
        rss, status, seconds, last = peak_rss_mib(command)
        print(
            f"| `scratchtui demo mlp --headless --steps {steps}` | {status} | {seconds:.1f} | "
            f"{last} | {rss:.1f} MiB |",
            file=out,
        )
    print(
        "\n(A headless run stops early when a breakpoint fires, e.g. at convergence: the last "
        "line says after how many steps. The Stepper table below runs with breakpoints off.)",
        file=out,
    )


def history(steps: int, out) -> None:
    from scratchai.engine import Settings
    from scratchai.engine.history import History

    capacity = Settings().history_capacity
    checkpoints = sorted({1_000, 10_000, steps // 2, steps})
    tracemalloc.start()
    try:
        h = History(capacity)
        base = tracemalloc.get_traced_memory()[0]
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
        wanted = {1_000, 10_000, steps // 2, steps}
        checkpoints = sorted(c for c in wanted if 0 < c <= steps)
        sizes = {}
        while s.step < steps:
            s.run(max_steps=min(500, min(c for c in checkpoints if c > s.step) - s.step))
            if s.step in checkpoints:
                sizes[s.step] = tracemalloc.get_traced_memory()[0] - base
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    budget = s._timeline.budget if s._timeline else 0
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--steps", type=int, default=20_000, help="long headless run")
    parser.add_argument("--history-steps", type=int, default=100_000)
    parser.add_argument("--stepper-steps", type=int, default=30_000)
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.history_steps, args.stepper_steps = 500, 10_000, 1_000
    headless(sorted({min(200, args.steps), args.steps}), sys.stdout)
    history(args.history_steps, sys.stdout)
    stepper(args.stepper_steps, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
