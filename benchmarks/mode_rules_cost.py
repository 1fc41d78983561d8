"""What the training-time diagnoses of issue 19 (items 5-8) cost per step.

- ``mismatched_labels`` runs on every step: one multiply-add on the batch accuracy.
- ``eval_randomness`` and ``frozen_statistics`` read the train/eval probe that runs once per
  epoch (two eval forwards of the batch's first 32 rows, and each module whose buffers never
  changed alone in both modes): spread over the epoch's steps.
- The loss's backward check runs once before the first step (a loss the user wrote), like the
  modules' backward check: nothing of it stays on the step.

Measured on the lesson's MLP (the ``mlp`` demo: 50 steps an epoch) and on 784→1024→1024→10 at
batch 256 (``probe_cost.big_experiment``: 8 steps an epoch, so the probe runs every 8 steps),
validation off, through ``Stepper.run`` (the probed step as a run takes it: per-layer numbers
every ``layers_every`` steps) with the default rules against the default rules without the
three new ones (and no mode probe), the two interleaved round by round on two live steppers;
thread CPU time with BLAS at one thread; the median of the per-round ratios and their range.
Each round runs whole epochs, so every round pays its share of epoch-end probes. On a loaded
shared machine that ratio is noisy (an A/A run of two identical steppers moves by several
percent), so the parts are also timed alone, each the median of many calls: one probe, one
``MismatchedLabels.check``, one engine step; the share of a step they cost is then
``(probe / steps between probes + check) / step``, with the probe sampled at the first epoch's
end and then about every ``Settings.modes_every`` (100) steps, at least once an epoch.

    python benchmarks/mode_rules_cost.py [--rounds N] [--epochs N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from probe_cost import NO_BREAKPOINTS, big_experiment, lesson_experiment
from step_time import blas_info, limit_threads

from scratchai.engine import Settings, Stepper
from scratchai.engine.rules import (
    DEFAULT_RULES,
    EvalRandomness,
    FrozenStatistics,
    MismatchedLabels,
)

NEW = (EvalRandomness, FrozenStatistics, MismatchedLabels)


def make(build, new_rules: bool) -> Stepper:
    rules = tuple(cls() for cls in DEFAULT_RULES if new_rules or cls not in NEW)
    stepper = Stepper(build(), Settings(rules=rules, rewind=False), NO_BREAKPOINTS)
    if not new_rules:
        stepper._modes.probe = lambda xb: None  # type: ignore[method-assign]  # no probe either
    stepper.run(max_steps=len(stepper.experiment.train_loader))  # warm: one whole epoch
    return stepper


def parts(build) -> str:
    """The parts alone: a probe, a check of the per-step rule, a step (medians, thread CPU)."""
    with make(build, True) as stepper:
        xb, record = stepper._last_batch, stepper.last_step
        rule = MismatchedLabels()
        probe = median_cpu(lambda: stepper._modes.probe(xb), 31)
        check = median_cpu(lambda: [rule.check(record, None) for _ in range(1000)], 11) / 1000
        step = median_cpu(lambda: stepper.run(max_steps=1), 101)
        epoch = len(stepper.experiment.train_loader)
        gap = max(epoch, stepper.settings.modes_every)
        share = (probe / gap + check) / step
        return (
            f"probe {probe * 1e6:.0f} us (every {gap} steps), check {check * 1e9:.0f} ns, "
            f"step {step * 1e6:.0f} us: {share:.2%} of a step"
        )


def median_cpu(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        samples.append(time.thread_time() - start)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--epochs", type=int, default=4, help="whole epochs per round")
    args = parser.parse_args(argv)
    limit_threads(1)
    print("; ".join(blas_info()))
    for name, build in (("lesson MLP", lesson_experiment), ("784-1024-1024-10", big_experiment)):
        with make(build, True) as new, make(build, False) as old:
            steps = args.epochs * len(new.experiment.train_loader)
            ratios, per_step = [], []
            for r in range(args.rounds):
                times = {}
                for who, stepper in (("new", new), ("old", old))[:: 1 if r % 2 == 0 else -1]:
                    start = time.thread_time()
                    stepper.run(max_steps=steps)
                    times[who] = (time.thread_time() - start) / steps
                ratios.append(times["new"] / times["old"])
                per_step.append(times["new"] - times["old"])
            old_step = times["old"]
            print(
                f"{name}: step with / without the new rules and the mode probe "
                f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); "
                f"{statistics.median(per_step) * 1e6:+.1f} us a step on {old_step * 1e3:.3f} ms "
                f"({len(new.experiment.train_loader)} steps an epoch)"
            )
        print(f"{name}, the parts alone: {parts(build)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
