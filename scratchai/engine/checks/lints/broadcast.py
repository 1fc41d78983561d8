"""A parameter that broadcasts against its module's output: the lesson's ``b = np.zeros(1)``
added to ``(batch, 64)`` gives every unit the same bias, silently.

Compared on the first forward's calls: a module with a weight over its units (a 2-D
parameter one of whose axes is the output's last, e.g. W: (128, 64) for (batch, 64)) and
another parameter with fewer entries than units whose shape broadcasts to the output.
"""

from __future__ import annotations

import numpy as np

from scratchai.engine.checks.lints.base import LintContext, shape_text
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity

RULE = "broadcast_parameter"


class BroadcastParameters:
    """A parameter whose shape is broadcast against its module's output
    (``broadcast_parameter``, one warning per parameter, at build time).

    A module without a weight over its units (a learnable scalar scale, a temperature, a
    PReLU's one slope) broadcasts on purpose and raises nothing.

    Args:
        min_units: the output's last axis must have at least this many units.
    """

    rule = RULE

    def __init__(self, min_units: int = 2) -> None:
        self.min_units = min_units

    def before_update(self, ctx: LintContext) -> None:
        pass

    def after_update(self, ctx: LintContext) -> list[RuleWarning]:
        found: list[RuleWarning] = []
        seen: set[int] = set()
        batch = _batch(ctx)
        for module, _, out in ctx.calls:
            if id(module) in seen or not isinstance(out, np.ndarray) or out.ndim < 1:
                continue
            seen.add(id(module))
            units = out.shape[-1]
            if units < self.min_units:
                continue
            own = list(module.named_parameters(recurse=False))
            if not any(p.data.ndim >= 2 and units in p.shape for _, p in own):
                continue  # nothing per unit here: a scalar may be meant
            for name, p in own:
                shape = p.shape
                if p.size >= units or len(shape) > out.ndim or (shape[-1:] != (1,) and shape):
                    continue
                try:
                    if np.broadcast_shapes(shape, out.shape) != out.shape:
                        continue
                except ValueError:
                    continue
                found.append(self._warning(ctx, module, name, shape, out.shape, batch))
        return found

    def _warning(
        self,
        ctx: LintContext,
        module: object,
        name: str,
        shape: tuple[int, ...],
        out: tuple[int, ...],
        batch: int | None,
    ) -> RuleWarning:
        path = ctx.path_of(module)  # type: ignore[arg-type]
        dotted = f"{path}.{name}" if path else name
        units = out[-1]
        want = (units,) if len(shape) <= 1 else (*shape[:-1], units)
        return RuleWarning(
            RULE,
            Severity.WARNING,
            ctx.step,
            f"'{dotted}' has shape {shape_text(shape)} but '{path or 'the model'}' outputs "
            f"{shape_text(out, batch)}: one value broadcast over all {units} units; it "
            f"probably should be {shape_text(want)}",
            "NumPy's broadcasting silently pads it to every unit: the layer trains with one "
            f"shared {name} instead of one per unit ({units - int(np.prod(shape))} fewer "
            "parameters than the layer should have), and no error ever says so.",
            (
                Remedy(
                    f"make it per unit: `self.{name} = sa.Parameter(np.zeros({units}))` "
                    f"(shape {shape_text(want)})"
                ),
            ),
            dotted,
        )


def _batch(ctx: LintContext) -> int | None:
    """The batch size: the first axis of the first call's input."""
    for _, x, _ in ctx.calls:
        if isinstance(x, np.ndarray) and x.ndim >= 1:
            return int(x.shape[0])
    return None
