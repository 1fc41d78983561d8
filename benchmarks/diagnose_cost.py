"""What the diagnostics cost: the training step with and without them, and the checks' own time.

The backward check runs only on demand (and once before the first step for a model with the
user's own modules): nothing of it stays on the training step. What does run on every step is
the check of each backward's returned shape (one backward hook) and the new rules. Measured on
the ``mlp`` and ``digits`` demos (validation off, so every timed step is one batch), interleaved
round by round (thread CPU time per step; the median of the per-round ratios and their range):

- engine step: ``Stepper.advance(Granularity.BATCH)`` as shipped.
- engine step after a check: the same on a stepper on which ``check_backward()`` ran (the
  check leaves nothing behind: ratio ~1).
- engine step without the per-step diagnostics: the shape-check hook removed and only the rules
  of before (non-finite, grad norm, loss explosion, init loss, dead ReLU, convergence,
  overfitting): the ratio is what the new per-step work costs.

Then the one-off costs: ``check_backward`` on one batch, and the whole pre-flight checklist
(``scratchtui check``), each against one engine step.

    python benchmarks/diagnose_cost.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from step_time import blas_info

import scratchai as sa
from scratchai.engine import Breakpoints, Granularity, Settings, Stepper, load_demo
from scratchai.engine.checks import check_backward, run_checklist
from scratchai.engine.rules import (
    Convergence,
    DeadReLU,
    GradNorm,
    InitLoss,
    LossExplosion,
    NonFinite,
    Overfitting,
)

OLD_RULES = (NonFinite, GradNorm, LossExplosion, InitLoss, DeadReLU, Convergence, Overfitting)


def stepper(demo: str, settings: Settings | None = None) -> Stepper:
    sa.manual_seed(0)
    experiment = load_demo(demo)
    experiment.val_data = None
    made = Stepper(experiment, settings, Breakpoints.none())
    made.advance(Granularity.BATCH)
    return made


def without_diagnostics(demo: str) -> Stepper:
    made = stepper(demo, Settings(rules=tuple(r() for r in OLD_RULES)))
    for handle in made._passes._handles[1:]:  # the hooks that check returned shapes
        handle.remove()
    return made


def interleaved_cpu(
    steps: dict[str, Callable[[], object]], rounds: int, per_block: int
) -> dict[str, list[float]]:
    """Per contender, the thread CPU time per call of each round's block; the order of the
    contenders alternates round by round (the machine is shared: CPU time, not wall time)."""
    names = list(steps)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            step = steps[name]
            start = time.thread_time()
            for _ in range(per_block):
                step()
            samples[name].append((time.thread_time() - start) / per_block)
    return samples


def cpu_time(fn: Callable[[], object], repeat: int) -> float:
    """Median thread CPU time of ``fn`` over ``repeat`` calls, in seconds."""
    samples = []
    for _ in range(repeat):
        start = time.thread_time()
        fn()
        samples.append(time.thread_time() - start)
    return statistics.median(samples)


def run(demos: list[str], rounds: int, per_block: int, out=sys.stdout) -> dict[str, float]:
    print("; ".join(blas_info()), file=out)
    found: dict[str, float] = {}
    for demo in demos:
        plain, checked, bare = stepper(demo), stepper(demo), without_diagnostics(demo)
        checked.views.check_backward()
        steps = {
            "engine step": lambda s=plain: s.advance(Granularity.BATCH),
            "after a check": lambda s=checked: s.advance(Granularity.BATCH),
            "without diagnostics": lambda s=bare: s.advance(Granularity.BATCH),
        }
        timings = interleaved_cpu(steps, rounds, per_block)
        base = timings["engine step"]
        ratios = {}
        for name in ("after a check", "without diagnostics"):
            per_round = [a / b for a, b in zip(timings[name], base, strict=True)]
            ratios[name] = statistics.median(per_round)
            found[f"{demo}: {name}"] = ratios[name]
            spread = f"{min(per_round):.3f}-{max(per_round):.3f}"
            print(
                f"{demo}: {name} / engine step = {ratios[name]:.3f} (rounds {spread})",
                file=out,
            )
        step_s = statistics.median(base)
        x = plain.experiment.train_loader.next_batch()[0]
        check_s = cpu_time(lambda m=plain.model, x=x: check_backward(m, x), 5)
        recipe_s = cpu_time(lambda d=demo: run_checklist(load_demo(d)), 3)
        found[f"{demo}: check_backward s"] = check_s
        found[f"{demo}: checklist s"] = recipe_s
        print(
            f"{demo}: engine step {step_s * 1e3:.3f} ms; check_backward {check_s * 1e3:.1f} ms "
            f"({check_s / step_s:.0f} steps); whole checklist {recipe_s:.3f} s "
            f"({recipe_s / step_s:.0f} steps)",
            file=out,
        )
        for made in (plain, checked, bare):
            made.close()
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds; noisy")
    args = parser.parse_args(argv)
    rounds, per_block = (3, 100) if args.quick else (21, 1000)
    run(["mlp", "digits"], rounds, per_block)


if __name__ == "__main__":
    main()
