"""What the build-time lints cost: they run on the first step only (the forward's calls watched,
then the lints around the first update), so a later step pays two comparisons of an int.

Measured on the lesson's MLP (the ``mlp`` demo) and on 784→1024→1024→10 at batch 256
(``probe_cost.big_experiment``): the first step through the engine with the default lints and
with none (``Settings(lints=())``), and steps 2-11 likewise, each on a fresh stepper, the two
variants interleaved round by round; thread CPU time with BLAS at one thread; medians of the
per-round ratios, with their range.

    python benchmarks/lint_cost.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from probe_cost import NO_BREAKPOINTS, big_experiment, lesson_experiment
from step_time import limit_threads

from scratchai.engine import Granularity, Settings, Stepper


def timed(make, lints: bool, later: int) -> tuple[float, float]:
    """(first step, mean of the ``later`` steps after it) in thread CPU seconds."""
    settings = Settings() if lints else Settings(lints=())
    with Stepper(make(), settings, NO_BREAKPOINTS) as stepper:
        stepper.advance(Granularity.PHASE)  # registration: not a step
        start = time.thread_time()
        stepper.advance(Granularity.BATCH)
        first = time.thread_time() - start
        start = time.thread_time()
        for _ in range(later):
            stepper.advance(Granularity.BATCH)
        return first, (time.thread_time() - start) / later


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--later", type=int, default=10)
    args = parser.parse_args(argv)
    limit_threads(1)
    for name, make in (("lesson MLP", lesson_experiment), ("784-1024-1024-10", big_experiment)):
        first, later, extra = [], [], []
        for r in range(args.rounds):
            order = (True, False) if r % 2 == 0 else (False, True)
            got = {lints: timed(make, lints, args.later) for lints in order}
            first.append(got[True][0] / got[False][0])
            later.append(got[True][1] / got[False][1])
            extra.append(got[True][0] - got[False][0])
        print(
            f"{name}: first step with/without lints {statistics.median(first):.3f} "
            f"({min(first):.3f}-{max(first):.3f}), +{statistics.median(extra) * 1e3:.2f} ms once; "
            f"steps 2-{args.later + 1} {statistics.median(later):.3f} "
            f"({min(later):.3f}-{max(later):.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
