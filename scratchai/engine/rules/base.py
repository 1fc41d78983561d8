"""What a rule is: the ``Rule`` protocol, the ``Condition`` it reports, the ``Context`` it reads.

A rule looks at each finished step (and, if it wants, each validation pass) and reports a
*condition* while something holds. The stepper turns the onset of a condition into one
``RuleWarning`` (so a grad norm that stays high for 50 steps warns once), and derives the state
(diverged / converged) from the severities of the conditions that hold now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from scratchai.engine.checks.data import InputSummary
from scratchai.engine.observe.records import EpochRecord, Remedy, RuleWarning, Severity, StepRecord
from scratchai.engine.rules.tracker import LossTracker


@dataclass(frozen=True)
class Condition:
    """A rule's finding on one step.

    Attributes:
        key: identifies the onset: the rule id, then ':' and what it names when a rule can
            hold for several things at once (e.g. 'dead_relu:1'); the warning's rule is the
            part before the ':'.
        warning: what the user is told if this key did not hold on the previous step.
    """

    key: str
    warning: RuleWarning


class Context:
    """What a rule may read besides the record: shared, read-only for rules.

    Attributes:
        step: the step being evaluated (for an epoch, the step it ended on).
        num_classes: the classifier's number of classes, None when not a classification.
        losses: the shared loss tracker, as it was *before* this step's loss (the book folds
            the loss in after every rule has looked, so all rules see the same values).
        inputs: the training inputs' statistics (None when the data could not be read).
        last_epoch: the latest validation pass (None before the first).
        found: the conditions the rules before this one reported on this step (a rule about
            an effect can name a cause found first, e.g. not learning after vanishing
            gradients).
    """

    __slots__ = ("found", "inputs", "last_epoch", "losses", "num_classes", "step")

    def __init__(
        self,
        step: int,
        num_classes: int | None,
        losses: LossTracker,
        inputs: InputSummary | None = None,
        last_epoch: EpochRecord | None = None,
    ) -> None:
        self.step = step
        self.num_classes = num_classes
        self.losses = losses
        self.inputs = inputs
        self.last_epoch = last_epoch
        self.found: list[Condition] = []

    @property
    def input_problem(self) -> str:
        """Why the inputs are not standardised ('' when they are, or are unknown): when the
        data is at fault, rules name it as the cause before any init scale."""
        return self.inputs.scale_problem() if self.inputs is not None else ""

    def condition(
        self,
        key: str,
        severity: Severity,
        message: str,
        diagnosis: str,
        remedies: Sequence[Remedy],
        target: str = "",
    ) -> Condition:
        """A condition on this step; a DIVERGED one leads its remedies with the rewind.

        Every divergence gets the same first remedy (go back to the weights with the lowest
        loss), so rules state only what is particular to them.
        """
        if severity is Severity.DIVERGED:
            remedies = (self.rewind_remedy(), *remedies)
        warning = RuleWarning(
            key.split(":")[0], severity, self.step, message, diagnosis, tuple(remedies), target
        )
        return Condition(key, warning)

    def rewind_remedy(self) -> Remedy:
        good = self.losses.rewind_step
        return Remedy(
            f"rewind to step {good}, whose weights gave the lowest loss so far",
            action="rewind",
            step=good,
        )


class Rule(Protocol):
    """One diagnostic. Subclass it to inherit the do-nothing defaults, or match it structurally.

    A rule carries its own thresholds (constructor arguments with defaults) and its own state;
    ``state_dict()`` / ``load_state_dict()`` save and restore that state exactly, for rewind.
    A rule reads only its record and the ``Context``: never another rule.
    """

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        """Conditions that hold after ``record``'s step (empty when quiet)."""
        return ()

    def needs_layers(self, step: int, loss: float, grad_norm: float) -> bool:
        """Whether this step's per-layer numbers must be measured for this rule (a run
        measures them only every few steps). Rules that read ``record.modules`` or
        ``record.params`` say when here, and subclass ``LayerRule`` (which keeps the last
        verdict on the records in between)."""
        return False

    def check_epoch(self, epoch: EpochRecord, ctx: Context) -> Sequence[RuleWarning]:
        """Warnings after a validation pass (epoch rules warn directly: no onset tracking)."""
        return ()

    def state_dict(self) -> dict[str, Any]:
        """A copy of the rule's state (nothing later evaluation can change)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""


@dataclass
class LayerRule(Rule):
    """A rule about the per-layer numbers (``record.modules`` / ``record.params``).

    A run measures them only every few steps: on the steps between, the verdict of the last
    measurement holds (and is saved for rewind). Subclasses write ``check_layers``, and call
    ``super()`` in ``state_dict`` / ``load_state_dict`` when they keep more state.
    """

    _held: tuple[Condition, ...] = field(default=(), init=False, repr=False, compare=False)

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        if record.layers_fresh:
            self._held = tuple(self.check_layers(record, ctx))
        return self._held

    def check_layers(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        """Conditions on a record whose per-layer numbers were measured on its own step."""
        return ()

    def state_dict(self) -> dict[str, Any]:
        return {"held": self._held}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._held = state["held"]


@dataclass
class OncePerModule(Rule):
    """A rule that warns about each module once (its memory is saved for rewind)."""

    warned: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def first_time(self, path: str) -> bool:
        """Whether ``path`` has not been warned about yet; from now on it has."""
        if path in self.warned:
            return False
        self.warned |= {path}
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"warned": self.warned}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.warned = state["warned"]
