"""The rule book: runs the rules in order on each step and epoch, and saves their state."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from scratchai.engine.checks.data import InputSummary
from scratchai.engine.observe.records import EpochRecord, RuleWarning, StepRecord
from scratchai.engine.rules.base import Condition, Context, Rule
from scratchai.engine.rules.tracker import LossTracker

if TYPE_CHECKING:
    from scratchai.engine.settings import Settings


class RuleBook:
    """Evaluates ``settings.rules`` in order and owns the ``LossTracker`` they share.

    The rules in ``settings`` are templates: the book works on its own copies, so one
    ``Settings`` can serve several steppers without them sharing rule state.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.rules: tuple[Rule, ...] = tuple(copy.deepcopy(r) for r in settings.rules)
        self.losses = LossTracker(settings.loss_smoothing)
        self.inputs: InputSummary | None = None  # set once by the monitor
        self.last_epoch: EpochRecord | None = None
        self._num_classes: int | None = None
        # a rule is called only for the hooks it overrides: this runs on every step
        self._step_rules = [r for r in self.rules if _overrides(r, "check")]
        self._epoch_rules = [r for r in self.rules if _overrides(r, "check_epoch")]
        self._stateful = [r for r in self.rules if _overrides(r, "state_dict")]
        self._layer_rules = [r for r in self.rules if _overrides(r, "needs_layers")]

    def needs_layers(self, step: int, loss: float, grad_norm: float) -> bool:
        """Whether some rule needs this step's per-layer numbers (see ``Rule.needs_layers``)."""
        return any(r.needs_layers(step, loss, grad_norm) for r in self._layer_rules)

    def evaluate(self, record: StepRecord, num_classes: int | None) -> list[Condition]:
        """Conditions that hold after ``record``'s step, in rule order."""
        self._num_classes = num_classes
        ctx = Context(record.step, num_classes, self.losses, self.inputs, self.last_epoch)
        found = ctx.found  # later rules see what earlier ones found
        for rule in self._step_rules:
            found.extend(rule.check(record, ctx))
        self.losses.update(record.step, record.loss)  # after all: every rule saw the same
        return found

    def epoch_warnings(self, epoch: EpochRecord) -> list[RuleWarning]:
        """Warnings after a validation pass, in rule order."""
        ctx = Context(epoch.step, self._num_classes, self.losses, self.inputs, self.last_epoch)
        found: list[RuleWarning] = []
        for rule in self._epoch_rules:
            found.extend(rule.check_epoch(epoch, ctx))
        self.last_epoch = epoch
        return found

    def state_dict(self) -> dict[str, Any]:
        """Every rule's state and the shared losses': a copy, for a rewind snapshot."""
        return {
            "losses": self.losses.state_dict(),
            "rules": tuple(r.state_dict() for r in self._stateful),
            "last_epoch": self.last_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.losses.load_state_dict(state["losses"])
        self.last_epoch = state["last_epoch"]
        for rule, saved in zip(self._stateful, state["rules"], strict=True):
            rule.load_state_dict(saved)


def _overrides(rule: Rule, hook: str) -> bool:
    """Whether ``rule`` has its own ``hook`` rather than the protocol's do-nothing default."""
    return getattr(type(rule), hook, None) is not getattr(Rule, hook)
