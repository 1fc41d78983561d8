"""The lints as a pre-flight check (``scratchtui check``, ``c`` in the app): one training step
on a copy of the experiment, with the forward's calls watched, and the lints around its update."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from scratchai.engine.checks.lints import BuildLints, Lint, LintContext, Stray, Strays
from scratchai.engine.checks.lints import default_lints as _default_lints
from scratchai.engine.observe.records import RuleWarning
from scratchai.engine.views.model_index import ModelIndex
from scratchai.module import Module

NAME = "module lints"


def lint_warnings(
    experiment: Any, x: np.ndarray, y: np.ndarray, lints: Sequence[Lint] | None = None
) -> list[RuleWarning]:
    """The lints' warnings for one step on ``(x, y)``, run on a copy of the model, loss and
    optimizer (ties kept): the experiment is untouched."""
    model, loss, optimizer = copy.deepcopy(
        (experiment.model, experiment.loss, experiment.optimizer)
    )
    index = ModelIndex(model)
    calls: list[tuple[Module, Any, Any]] = []

    def record(module: Module, inputs: tuple, output: Any) -> None:
        if index.is_layer(module):
            calls.append((module, inputs[0] if inputs else None, output))

    handles = [model.register_forward_hook(record, recurse=True)]

    def found(stray: Stray) -> None:
        index.add_stray(stray.module, stray.path)
        handles.append(stray.module.register_forward_hook(record))

    strays = Strays(index, found)
    runner = BuildLints(lints if lints is not None else _default_lints())
    try:
        optimizer.zero_grad()
        with strays.watch():
            output = model(x)
        ctx = LintContext(index, calls, tuple(strays.found), 1, type(model).__name__)
        loss(output, y)
        model.backward(loss.backward())
        runner.before_update(ctx)
        optimizer.step()
        return runner.after_update(ctx)
    finally:
        for handle in handles:
            handle.remove()


def lint_check(experiment: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """The lints as one line of the checklist (a ``CheckResult``)."""
    from scratchai.engine.checks.recipe import CheckResult  # the recipe imports this file

    warnings = lint_warnings(experiment, x, y)
    if not warnings:
        return CheckResult(
            NAME,
            True,
            "every module called is registered; no copied or doubled weight, no parameter "
            "broadcast over its units, no identical units",
        )
    return CheckResult(
        NAME,
        False,
        "; ".join(w.message for w in warnings),
        "; ".join(w.remedies[0] for w in warnings if w.remedies),
    )
