"""Divergence, convergence and overfitting rules: one file per rule, and the book that runs them.

A new rule is one file (a class following ``Rule``) plus one line in ``DEFAULT_RULES``.
"""

from __future__ import annotations

from .base import Condition, Context, LayerRule, Rule
from .book import RuleBook
from .convergence import Convergence
from .dead_relu import DeadReLU
from .grad_norm import GradNorm
from .gradient_flow import GradientFlow
from .init_loss import InitLoss
from .input_scale import InputScale
from .loss_explosion import LossExplosion
from .nonfinite import NonFinite
from .not_learning import NotLearning
from .overfitting import Overfitting
from .saturation import Saturation
from .tracker import LossTracker

#: The rules a stepper runs, in evaluation order (a rule class, built with its defaults).
DEFAULT_RULES: tuple[type[Rule], ...] = (
    InputScale,  # first: when the data is at fault, that is the cause the user reads first
    NonFinite,
    GradNorm,
    LossExplosion,
    InitLoss,
    DeadReLU,
    Saturation,
    GradientFlow,
    NotLearning,
    Convergence,
    Overfitting,
)


def default_rules(*overrides: Rule) -> tuple[Rule, ...]:
    """Fresh instances of ``DEFAULT_RULES``; each override replaces the default of its class
    (in place, keeping the order) or, for a class not among them, is added at the end.

    E.g. ``Settings(rules=default_rules(Overfitting(patience=1)))``.
    """
    given = {type(rule): rule for rule in overrides}
    rules = [given.pop(cls) if cls in given else cls() for cls in DEFAULT_RULES]
    return (*rules, *given.values())


__all__ = [
    "DEFAULT_RULES",
    "Condition",
    "Context",
    "Convergence",
    "DeadReLU",
    "GradNorm",
    "GradientFlow",
    "InitLoss",
    "InputScale",
    "LayerRule",
    "LossExplosion",
    "LossTracker",
    "NonFinite",
    "NotLearning",
    "Overfitting",
    "Rule",
    "RuleBook",
    "Saturation",
    "default_rules",
]
