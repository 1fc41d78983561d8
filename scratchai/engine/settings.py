"""What a user can configure: the engine's sizes, the rules it runs, what pauses a run.

Each rule's thresholds live on the rule (see ``scratchai.engine.rules``); ``Settings.rules``
holds the rules to run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scratchai.engine.checks.lints import Lint, default_lints
from scratchai.engine.observe.records import RuleWarning, StepRecord
from scratchai.engine.rules import Rule, default_rules


@dataclass
class Settings:
    """Sizes of the engine's memory and the rules it runs (all can be changed).

    To change a threshold, pass the rule with it: e.g.
    ``Settings(rules=default_rules(Overfitting(patience=1)))``.
    """

    rewind: bool = True  # keep what going back to any step needs (False: fastest, no rewind)
    checkpoint_every: int = 25  # steps between full checkpoints at first (doubles as runs grow)
    rewind_budget_mb: float | None = None  # for checkpoints; None: 4 weight copies, >= 16 MiB
    history_capacity: int = 4096  # full-resolution steps kept before older ones are downsampled
    warning_capacity: int = 1000
    histogram_bins: int = 24
    heatmap_shape: tuple[int, int] = (16, 48)
    lr_factor: float = 2.0  # what lowering / raising the lr divides / multiplies it by
    loss_rise_tolerance: float = 0.1  # breakpoint "loss rose": +10% over the previous step
    loss_smoothing: float = 0.1  # EMA weight of each new loss in the loss the rules share
    rules: tuple[Rule, ...] = field(default_factory=default_rules)  # in evaluation order
    lints: tuple[Lint, ...] = field(default_factory=default_lints)  # once, on the first step
    layers_every: int = 10  # in a run, per-layer statistics every this many steps (and as needed)
    # train vs eval probed at the first epoch's end, then at the end of an epoch in which a
    # multiple of this many steps fell (eval_randomness, frozen_statistics read it)
    modes_every: int = 100
    # Check every module's backward on the first batch when the model holds modules the user
    # wrote (it runs their forward a few dozen extra times on a copy of the model).
    backward_check_first: bool = True
    # seconds an interrupted step may take to reach a module boundary before it is stopped
    # where it is (a runaway loop inside one module)
    interrupt_grace: float = 0.3


#: Breakpoints that pause when a rule (or the backward check) warns: the Breakpoints field
#: has the name of the warning's rule. Off by default: the warning shows either way.
RULE_BREAKPOINTS = (
    "backward_check",
    "input_scale",
    "vanishing_gradients",
    "exploding_gradients",
    "saturation",
    "not_learning",
    "overfitting",
    "unregistered_modules",
    "broken_sharing",
    "broadcast_parameter",
    "symmetric_units",
    "mismatched_labels",
    "eval_randomness",
    "frozen_statistics",
)


@dataclass
class Breakpoints:
    """Conditions that pause ``Stepper.run``; each fired one is named in ``Advance.stopped_by``.

    The fields of ``RULE_BREAKPOINTS`` pause when that rule's warning appears.
    """

    diverged: bool = True
    nonfinite: bool = True
    grad_norm_above: float | None = None
    loss_rose: bool = False
    dead_fraction_above: float | None = None
    at_step: int | None = None
    converged: bool = True
    backward_check: bool = False
    input_scale: bool = False
    vanishing_gradients: bool = False
    exploding_gradients: bool = False
    saturation: bool = False
    not_learning: bool = False
    overfitting: bool = False
    mismatched_labels: bool = False
    eval_randomness: bool = False
    frozen_statistics: bool = False
    unregistered_modules: bool = False
    broken_sharing: bool = False
    broadcast_parameter: bool = False
    symmetric_units: bool = False

    @classmethod
    def none(cls) -> Breakpoints:
        """Nothing pauses a run (the rules still warn): for timing whole runs."""
        return cls(diverged=False, nonfinite=False, converged=False)


def warning_breakpoints(bp: Breakpoints, warnings: Sequence[RuleWarning]) -> list[str]:
    """The ``RULE_BREAKPOINTS`` that ``warnings`` fire (a step's, or an epoch's)."""
    return [
        f"{w.rule}: {w.message}"
        for w in warnings
        if w.rule in RULE_BREAKPOINTS and getattr(bp, w.rule)
    ]


def fired_breakpoints(
    bp: Breakpoints,
    record: StepRecord,
    previous_loss: float | None,
    diverged: bool,
    converged: bool,
    settings: Settings,
    diverged_reason: str,
    warnings: Sequence[RuleWarning] = (),
) -> list[str]:
    """The names (with a short reason) of the breakpoints that fire on ``record``.

    Args:
        warnings: the warnings that appeared on this step (for ``RULE_BREAKPOINTS``).
    """
    fired: list[str] = []
    # per-layer numbers from an earlier step (see StepRecord.layers_step) decide nothing here
    modules = record.modules if record.layers_fresh else ()
    params = record.params if record.layers_fresh else ()
    fired += warning_breakpoints(bp, warnings)
    if bp.diverged and diverged:
        fired.append(f"diverged: {diverged_reason}")
    if bp.nonfinite and (
        not math.isfinite(record.loss)
        or not math.isfinite(record.grad_norm)
        or any(m.output.nonfinite for m in modules)
        or any(p.grad_nonfinite for p in params)
    ):
        fired.append(f"nonfinite: NaN/Inf at step {record.step}")
    if bp.grad_norm_above is not None and record.grad_norm > bp.grad_norm_above:
        fired.append(f"grad_norm_above: {record.grad_norm:.4g} > {bp.grad_norm_above:g}")
    if (
        bp.loss_rose
        and previous_loss is not None
        and record.loss > previous_loss * (1.0 + settings.loss_rise_tolerance)
    ):
        fired.append(f"loss_rose: {previous_loss:.4g} -> {record.loss:.4g}")
    if bp.dead_fraction_above is not None:
        for m in modules:
            if m.dead_fraction is not None and m.dead_fraction > bp.dead_fraction_above:
                fired.append(f"dead_fraction_above: '{m.path}' {m.dead_fraction:.0%}")
                break
    if bp.at_step is not None and record.step == bp.at_step:
        fired.append(f"at_step: step {record.step}")
    if bp.converged and converged:
        fired.append("converged: loss plateaued")
    return fired
