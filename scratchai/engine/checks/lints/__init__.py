"""The silent failures of hand-built modules, caught at build time: one file per lint.

A lint looks at the model once, on the first step (and again on a reload, which builds a new
stepper): modules called but not registered, sharing gone wrong, parameters that broadcast
against their output, symmetric units. Nothing of it runs on later steps.

A new lint is one file (a class following ``Lint``) plus one line in ``DEFAULT_LINTS``; its
warning's rule id is its breakpoint's name (``Breakpoints``, ``RULE_BREAKPOINTS``).
"""

from __future__ import annotations

from collections.abc import Sequence

from scratchai.engine.checks.lints.base import Call, Lint, LintContext, Stray
from scratchai.engine.checks.lints.broadcast import BroadcastParameters
from scratchai.engine.checks.lints.sharing import BrokenSharing
from scratchai.engine.checks.lints.symmetry import SymmetricUnits
from scratchai.engine.checks.lints.unregistered import (
    MARK,
    Strays,
    UnregisteredModules,
    watching_calls,
)
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity

#: The lints a stepper runs on its first step, in order (a lint class, built with its defaults).
DEFAULT_LINTS: tuple[type[Lint], ...] = (
    UnregisteredModules,
    BrokenSharing,
    BroadcastParameters,
    SymmetricUnits,
)

#: Their warnings' rule ids (each also a breakpoint).
LINT_RULES: tuple[str, ...] = tuple(lint.rule for lint in DEFAULT_LINTS)


_MARKS = {
    "unregistered_modules": "not registered",
    "broadcast_parameter": "broadcast",
    "symmetric_units": "identical units",
}


def tree_mark(warning: RuleWarning) -> tuple[str, str] | None:
    """Where a lint's warning marks the model's tree: (the module's path, a few words), e.g.
    ``('', 'hidden: not registered')`` or ``('branch_b', 'W: a copy')``; None for a warning
    that is not a lint's (or names nothing)."""
    rule, target = warning.rule, warning.target
    if not target or rule not in LINT_RULES:
        return None
    if rule == "unregistered_modules":  # 'block.hidden[0] (not registered)': block's hidden
        where = target.removesuffix(MARK).split("[")[0].split("#")[0]
        owner, _, attribute = where.rpartition(".")
        return owner, f"{attribute}: {_MARKS[rule]}"
    owner, _, name = target.rpartition(".")
    if rule == "broken_sharing":
        words = "same memory" if "same memory" in warning.message else "a copy"
    else:
        words = _MARKS[rule]
    return owner, f"{name}: {words}"


def default_lints(*overrides: Lint) -> tuple[Lint, ...]:
    """Fresh instances of ``DEFAULT_LINTS``; an override replaces the default of its class."""
    given = {type(lint): lint for lint in overrides}
    lints = [given.pop(cls) if cls in given else cls() for cls in DEFAULT_LINTS]
    return (*lints, *given.values())


class BuildLints:
    """Runs the lints around the first update: ``before_update`` on the initial values, then
    ``after_update`` collects the warnings. A lint that raises is reported, not swallowed,
    and the others still run."""

    def __init__(self, lints: Sequence[Lint]) -> None:
        self.lints = tuple(lints)
        self._failed: list[RuleWarning] = []

    def before_update(self, ctx: LintContext) -> None:
        self._failed = []
        for lint in self.lints:
            try:
                lint.before_update(ctx)
            except Exception as exc:  # a lint's bug must not fail the user's step
                self._failed.append(_could_not_finish(lint, exc, ctx.step))

    def after_update(self, ctx: LintContext) -> list[RuleWarning]:
        found, self._failed = self._failed, []
        for lint in self.lints:
            try:
                found.extend(lint.after_update(ctx))
            except Exception as exc:
                found.append(_could_not_finish(lint, exc, ctx.step))
        return found


def _could_not_finish(lint: Lint, exc: Exception, step: int) -> RuleWarning:
    return RuleWarning(
        lint.rule,
        Severity.INFO,
        step,
        f"the {lint.rule.replace('_', ' ')} check could not finish: it raised "
        f"{type(exc).__name__}: {exc}",
        "A build-time check of the model failed on something it did not expect; the model "
        "itself may be fine.",
        (Remedy("report it, with the model file"),),
    )


__all__ = [
    "DEFAULT_LINTS",
    "LINT_RULES",
    "MARK",
    "BroadcastParameters",
    "BrokenSharing",
    "BuildLints",
    "Call",
    "Lint",
    "LintContext",
    "Stray",
    "Strays",
    "SymmetricUnits",
    "UnregisteredModules",
    "default_lints",
    "tree_mark",
    "watching_calls",
]
