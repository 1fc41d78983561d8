"""Non-finite values: the loss, the first module output, the first gradient."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scratchai.engine.observe.records import Severity, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.remedies import CLIP, FIX_INIT, REDUCE_LR, inputs_cause, inputs_first


@dataclass
class NonFinite(Rule):
    """NaN or Inf in the loss (``nonfinite_loss``), in a module's output (``nonfinite_output``)
    or in a gradient (``nonfinite_grad``). No threshold: any non-finite value is a divergence.

    Why: once a value overflows, everything computed from it is garbage. The rule names the
    first module in forward order and the first parameter in backward order that hold one,
    since that is where the overflow started; everything after merely inherits it. The three
    share one file because they share the scan.
    """

    def needs_layers(self, step: int, loss: float, grad_norm: float) -> bool:
        return not (math.isfinite(loss) and math.isfinite(grad_norm))  # to name the module

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        modules = record.modules if record.layers_fresh else ()
        params = record.params if record.layers_fresh else ()
        first_output = next((m for m in modules if m.output.nonfinite), None)
        first_grad = next((p for p in reversed(params) if p.grad_nonfinite), None)
        loss_ok = math.isfinite(record.loss)
        if loss_ok and first_output is None and first_grad is None:
            return ()
        found: list[Condition] = []
        cause = inputs_cause(ctx.input_problem)
        if not loss_ok:
            where = (
                f" The first non-finite output was in module '{first_output.path}'."
                if first_output
                else ""
            )
            found.append(
                ctx.condition(
                    "nonfinite_loss",
                    Severity.DIVERGED,
                    f"loss is {record.loss}",
                    "Training diverged: a value overflowed to Inf or became NaN."
                    + where
                    + " Usually the learning rate is too high or the init scale too large, so "
                    "activations and gradients grow step after step until they overflow." + cause,
                    inputs_first(ctx.input_problem, (REDUCE_LR, FIX_INIT)),
                    first_output.path if first_output else "",
                )
            )
        if first_output is not None:
            found.append(
                ctx.condition(
                    f"nonfinite_output:{first_output.path}",
                    Severity.DIVERGED,
                    f"module '{first_output.path}' ({first_output.type_name}) output "
                    f"{first_output.output.nonfinite} non-finite values",
                    "This is the first module, in forward order, whose output holds NaN or Inf: "
                    "everything after it inherits the bad values." + cause,
                    inputs_first(ctx.input_problem, (REDUCE_LR, FIX_INIT)),
                    first_output.path,
                )
            )
        if first_grad is not None:
            found.append(
                ctx.condition(
                    f"nonfinite_grad:{first_grad.path}",
                    Severity.DIVERGED,
                    f"gradient of '{first_grad.path}' has {first_grad.grad_nonfinite} "
                    "non-finite values",
                    "This is the first parameter, in backward order, whose gradient holds NaN "
                    "or Inf." + cause,
                    inputs_first(ctx.input_problem, (REDUCE_LR, FIX_INIT, CLIP)),
                    first_grad.path,
                )
            )
        return found
