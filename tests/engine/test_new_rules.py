"""The gradient-flow and silent-failure rules on crafted records: fire, stay quiet, rewind."""

from __future__ import annotations

from scratchai.engine import EpochRecord, Settings, Severity
from scratchai.engine.checks.data import InputSummary
from scratchai.engine.observe.records import ModuleProbe, ParamProbe, Stats, StepRecord
from scratchai.engine.rules import (
    Convergence,
    GradientFlow,
    InputScale,
    NotLearning,
    Overfitting,
    RuleBook,
    Saturation,
)

OK = Stats(0.0, 1.0, -1.0, 1.0, 0)


def layer(path: str, ratio: float | None, saturation: float | None = None) -> ModuleProbe:
    kind = "Tanh" if saturation is not None else "Linear"
    return ModuleProbe(path, kind, (4, 3), (4, 3), OK, None, saturation, ratio, ratio)


def step(n: int, loss: float = 1.0, modules=(), ratio: float = 1e-3) -> StepRecord:
    param = ParamProbe("0.W", ("0.W",), (3, 3), "float32", 9, 1.0, 1.0, 0, 0, ratio)
    return StepRecord(n, 0, n - 1, loss, None, 1.0, 0.1, tuple(modules), (param,), ())


def book(*rules) -> RuleBook:
    return RuleBook(Settings(rules=rules))


def test_vanishing_gradients_names_the_first_starving_layer_after_patience():
    rules = book(GradientFlow(patience=3))
    starving = (layer("0", 1e-9), layer("2", 1e-8), layer("4", 1e-3))
    found = [rules.evaluate(step(n, modules=starving), None) for n in (1, 2, 3)]
    assert found[:2] == [[], []]
    [cond] = found[2]
    assert cond.key == "vanishing_gradients" and cond.warning.target == "0"
    assert "6.0 orders of magnitude below the head '4'" in cond.warning.message
    healthy = (layer("0", 5e-4), layer("2", 1e-3))
    assert book(GradientFlow(patience=1)).evaluate(step(1, modules=healthy), None) == []


def test_exploding_gradients_needs_both_the_ratio_to_the_head_and_a_large_update():
    rules = book(GradientFlow(patience=1))
    [cond] = rules.evaluate(step(1, modules=(layer("0", 0.5), layer("2", 1e-4))), None)
    assert cond.key == "exploding_gradients" and cond.warning.target == "0"
    small = (layer("0", 5e-3), layer("2", 1e-6))  # far above the head, but a small update
    assert book(GradientFlow(patience=1)).evaluate(step(1, modules=small), None) == []


def test_saturation_needs_a_streak_and_restores_it_on_rewind():
    rules = book(Saturation(threshold=0.5, patience=3))
    hot = (layer("1", None, saturation=0.8),)
    rules.evaluate(step(1, modules=hot), None)
    saved = rules.state_dict()
    rules.evaluate(step(2, modules=hot), None)
    [cond] = rules.evaluate(step(3, modules=hot), None)
    assert cond.key == "saturation:1" and "80%" in cond.warning.message
    rules.load_state_dict(saved)
    assert rules.evaluate(step(2, modules=hot), None) == []  # the streak went back to 1
    assert rules.evaluate(step(3, modules=(layer("1", None, saturation=0.2),)), None) == []


def test_not_learning_waits_then_tells_low_lr_from_other_causes():
    for ratio, words in ((1e-9, "learning rate is too low"), (1e-3, "does not fall")):
        rules = book(NotLearning(steps=10))
        found = [rules.evaluate(step(n, loss=2.30, ratio=ratio), 10) for n in range(1, 11)]
        assert all(f == [] for f in found[:9])
        [cond] = found[9]
        assert words in cond.warning.diagnosis and "ln(10)" in cond.warning.message
    falling = book(NotLearning(steps=10))
    last = [falling.evaluate(step(n, loss=2.3 / n), 10) for n in range(1, 11)][-1]
    assert last == []


def test_not_learning_warns_once_while_a_slow_loss_wavers_at_its_threshold():
    rules = book(NotLearning(steps=1, tolerance=0.05))
    rules.losses.smoothing = 1.0  # the smoothed loss is the last loss: the test sets it exactly
    losses = [1.0, 0.96, 0.94, 0.96, 0.93, 0.955, 0.94, 0.85, 0.96, 0.5]
    held = [bool(rules.evaluate(step(n, loss=x), None)) for n, x in enumerate(losses, 1)]
    # a rule sees the losses before its step's: within 5 % of the first it starts to hold
    # (6-7 % away it holds on), past 10 % it ends, and within 5 % again it holds again
    assert held == [False, True, True, True, True, True, True, True, False, True]


def test_input_scale_fires_from_the_data_summary():
    rules = book(InputScale())
    assert rules.evaluate(step(1), None) == []  # no data summary: nothing to say
    rules.inputs = InputSummary(8, 900.0, 1100.0, 40.0, 60.0, 0)
    [cond] = rules.evaluate(step(1), None)
    assert cond.key == "input_scale" and "standard deviation is 900" in cond.warning.message
    rules.inputs = InputSummary(8, 1.0, 1.2, 0.1, 0.3, 0)
    assert rules.evaluate(step(2), None) == []


def test_a_plateau_with_a_large_validation_gap_is_overfitting_not_convergence():
    rules = book(Convergence(window=4, gap=0.5))
    rules.epoch_warnings(EpochRecord(0, 1, 0.05, 1.175, 0.66))
    found = [rules.evaluate(step(n, loss=0.01), 10) for n in range(1, 5)]
    [cond] = found[-1]
    assert cond.key == "overfitting:gap" and cond.warning.severity is Severity.WARNING
    assert "accuracy 66%" in cond.warning.message and "a gap of" in cond.warning.message
    close = book(Convergence(window=4, gap=0.5))
    close.epoch_warnings(EpochRecord(0, 1, 0.05, 0.3, 0.9))
    assert [close.evaluate(step(n, loss=0.01), 10) for n in range(1, 5)][-1][0].key == "converged"


def test_overfitting_catches_a_slow_sustained_rise():
    rules = book(Overfitting(trend_window=8, trend_margin=0.02))
    rules.losses.smoothed = 1.0
    assert rules.epoch_warnings(EpochRecord(0, 10, 1.0, 0.281, None)) == []
    warned = []
    for e in range(1, 12):
        rules.losses.smoothed = 1.0 / (e + 1)  # training keeps falling
        warned += rules.epoch_warnings(EpochRecord(e, 10 * (e + 1), 0.0, 0.281 + 0.0011 * e, None))
    # under the 5% jump margin throughout, but a steady rise of over 2% across 8 epochs
    assert [w.rule for w in warned] == ["overfitting"]
