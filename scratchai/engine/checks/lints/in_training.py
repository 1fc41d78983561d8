"""The lints as the stepper runs them: around its first step (a reload builds a new stepper,
so they run again), their warnings joining that step's like any rule's.

The first forward runs with the call watcher on (``Strays.watch``): each module it calls that
is not in the tree is named where it hangs and added to the views, so its calls are recorded,
probed and drawn (marked "not registered") from that call on, at no cost to other models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from scratchai.engine.checks.lints import BuildLints, Lint, LintContext, Stray, Strays
from scratchai.engine.observe.probes import Probes
from scratchai.engine.observe.records import RuleWarning
from scratchai.engine.stepping.passes import Passes
from scratchai.engine.views.flow import FlowBuilder
from scratchai.engine.views.model_index import ModelIndex


class FirstStepLints:
    """Runs the build-time lints on a stepper's first step.

    Args:
        index, probes, flow, passes: the stepper's views, which learn each stray found.
        lints: the lints to run (``Settings.lints``).
    """

    def __init__(
        self,
        index: ModelIndex,
        probes: Probes,
        flow: FlowBuilder,
        passes: Passes,
        lints: Sequence[Lint],
    ) -> None:
        self.index, self.probes, self.flow, self.passes = index, probes, flow, passes
        self.strays = Strays(index, self._found)
        self.runner = BuildLints(lints)
        self._ctx: LintContext | None = None

    def _found(self, stray: Stray) -> None:
        self.index.add_stray(stray.module, stray.path)
        self.probes.watch(stray.path, stray.module)
        self.flow.add_stray(stray.path, stray.module)
        self.passes.watch_stray(stray.module)

    def watching(self, forward: Callable[[], Any]) -> Callable[[], Any]:
        """``forward`` with the call watcher on while it runs."""

        def watched() -> Any:
            with self.strays.watch():
                return forward()

        return watched

    def before_update(self, step: int) -> None:
        """After the first backward, before its update: the initial values."""
        ctx = LintContext(
            self.index,
            self.passes.tape.layers,
            tuple(self.strays.found),
            step,
            type(self.index.model).__name__,
        )
        self._ctx = ctx
        self.runner.before_update(ctx)

    def after_update(self) -> list[RuleWarning]:
        ctx, self._ctx = self._ctx, None
        return self.runner.after_update(ctx) if ctx is not None else []
