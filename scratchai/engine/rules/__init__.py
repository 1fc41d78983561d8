"""Divergence, convergence and overfitting rules: one file per rule, and the book that runs them.

A new rule is one file (a class following ``Rule``) plus one line in ``DEFAULT_RULES``.
"""

from __future__ import annotations

from scratchai.engine.rules.base import Condition, Context, LayerRule, Rule
from scratchai.engine.rules.book import RuleBook
from scratchai.engine.rules.convergence import Convergence
from scratchai.engine.rules.dead_relu import DeadReLU
from scratchai.engine.rules.eval_randomness import EvalRandomness
from scratchai.engine.rules.frozen_statistics import FrozenStatistics
from scratchai.engine.rules.grad_norm import GradNorm
from scratchai.engine.rules.gradient_flow import GradientFlow
from scratchai.engine.rules.init_loss import InitLoss
from scratchai.engine.rules.input_scale import InputScale
from scratchai.engine.rules.loss_explosion import LossExplosion
from scratchai.engine.rules.mismatched_labels import MismatchedLabels
from scratchai.engine.rules.nonfinite import NonFinite
from scratchai.engine.rules.not_learning import NotLearning
from scratchai.engine.rules.overfitting import Overfitting
from scratchai.engine.rules.saturation import Saturation
from scratchai.engine.rules.tracker import LossTracker

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
    EvalRandomness,  # before MismatchedLabels: eval mode broken is the cause to read first
    FrozenStatistics,
    MismatchedLabels,
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
    "EvalRandomness",
    "FrozenStatistics",
    "GradNorm",
    "GradientFlow",
    "InitLoss",
    "InputScale",
    "LayerRule",
    "LossExplosion",
    "LossTracker",
    "MismatchedLabels",
    "NonFinite",
    "NotLearning",
    "Overfitting",
    "Rule",
    "RuleBook",
    "Saturation",
    "default_rules",
]
