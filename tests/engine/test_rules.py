"""Each rule on crafted records: fires when it should, quiet otherwise; state, remedies, plug-in."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pytest

from scratchai.engine import EpochRecord, Remedy, Settings, Severity
from scratchai.engine.observe.records import ModuleProbe, ParamProbe, RuleWarning, Stats, StepRecord
from scratchai.engine.rules import (
    DEFAULT_RULES,
    Condition,
    Context,
    Convergence,
    DeadReLU,
    GradNorm,
    InitLoss,
    LossExplosion,
    NonFinite,
    Overfitting,
    Rule,
    RuleBook,
    default_rules,
)

RULE_IDS = {
    "nonfinite_loss", "nonfinite_output", "nonfinite_grad", "grad_norm", "loss_explosion",
    "init_loss", "dead_relu", "converged", "overfitting",
}  # fmt: skip
HEALTHY = Stats(0.0, 1.0, -2.0, 2.0, 0)


def module(path: str = "0", nonfinite: int = 0, dead: float | None = None) -> ModuleProbe:
    output = HEALTHY._replace(nonfinite=nonfinite)
    return ModuleProbe(path, "ReLU" if dead is not None else "Linear", (4, 3), (4, 3), output, dead)


def param(path: str = "0.W", grad_norm: float = 1.0, grad_nonfinite: int = 0) -> ParamProbe:
    return ParamProbe(path, (path,), (3, 3), "float32", 9, 1.0, grad_norm, 0, grad_nonfinite, 1e-3)


def record(
    step: int = 1,
    loss: float = 1.0,
    grad_norm: float = 1.0,
    modules: Sequence[ModuleProbe] = (),
    params: Sequence[ParamProbe] = (),
) -> StepRecord:
    """A step record with only what the rules read; a healthy module and parameter by default."""
    return StepRecord(
        step, 0, step - 1, loss, None, grad_norm, 0.1,
        tuple(modules) or (module(),), tuple(params) or (param(),), (),
    )  # fmt: skip


def book(*rules: Rule) -> RuleBook:
    return RuleBook(Settings(rules=rules))


def keys(conditions: list[Condition]) -> list[str]:
    return [c.key for c in conditions]


# ---------------------------------------------------------------- each rule, fires and quiet
def test_nonfinite_names_the_loss_the_first_output_and_the_first_grad():
    rules = book(NonFinite())
    assert rules.evaluate(record(), None) == []
    bad = record(
        loss=math.nan,
        modules=(module("0"), module("1", nonfinite=3), module("2", nonfinite=9)),
        params=(param("0.W", grad_nonfinite=1), param("2.W", grad_nonfinite=2)),
    )
    found = rules.evaluate(bad, None)
    # forward order for outputs, backward order (last parameter first) for gradients
    assert keys(found) == ["nonfinite_loss", "nonfinite_output:1", "nonfinite_grad:2.W"]
    assert [c.warning.rule for c in found] == [
        "nonfinite_loss",
        "nonfinite_output",
        "nonfinite_grad",
    ]
    assert all(c.warning.severity is Severity.DIVERGED for c in found)
    assert found[0].warning.target == "1" and "module '1'" in found[0].warning.diagnosis


def test_grad_norm_fires_above_its_threshold_and_names_the_largest():
    assert book(GradNorm()).evaluate(record(grad_norm=100.0), None) == []
    found = book(GradNorm()).evaluate(
        record(grad_norm=150.0, params=(param("a", 10.0), param("b", 140.0))), None
    )
    assert keys(found) == ["grad_norm"] and found[0].warning.target == "b"
    assert keys(book(GradNorm(threshold=10.0)).evaluate(record(grad_norm=50.0), None)) == [
        "grad_norm"
    ]


def test_loss_explosion_after_warmup_only():
    rules = book(LossExplosion())
    for step in range(1, 7):
        assert rules.evaluate(record(step, 1.0), None) == []
    assert keys(rules.evaluate(record(7, 20.0), None)) == ["loss_explosion"]
    assert rules.evaluate(record(8, 5.0), None) == []  # below 10x the best
    early = book(LossExplosion())
    early.evaluate(record(1, 1.0), None)
    assert early.evaluate(record(2, 50.0), None) == []  # still warming up


def test_init_loss_only_on_step_one_of_a_classifier():
    assert keys(book(InitLoss()).evaluate(record(1, 10.0), 10)) == ["init_loss"]
    assert book(InitLoss()).evaluate(record(1, math.log(10)), 10) == []
    assert book(InitLoss()).evaluate(record(1, 10.0), None) == []  # not a classifier
    assert book(InitLoss()).evaluate(record(2, 10.0), 10) == []


def test_dead_relu_names_each_dead_layer():
    rules = book(DeadReLU())
    healthy = record(modules=(module("1", dead=0.5),))
    assert rules.evaluate(healthy, None) == []
    dead = record(modules=(module("1", dead=0.95), module("3", dead=1.0)))
    found = rules.evaluate(dead, None)
    assert keys(found) == ["dead_relu:1", "dead_relu:3"]
    assert found[0].warning.rule == "dead_relu" and found[0].warning.severity is Severity.WARNING


def test_convergence_holds_with_hysteresis():
    rules = book(Convergence(window=4))
    assert [keys(rules.evaluate(record(s, 0.01), None)) for s in range(1, 5)] == [
        [], [], [], ["converged"],
    ]  # fmt: skip
    # mean 0.0775: above the threshold but under twice it, so still converged
    assert keys(rules.evaluate(record(5, 0.28), None)) == ["converged"]
    assert rules.evaluate(record(6, 1.0), None) == []  # clearly off the plateau
    assert book(Convergence(window=4)).evaluate(record(1, 0.01), None) == []


def epoch(index: int, val: float | None) -> EpochRecord:
    return EpochRecord(index, 10 * (index + 1), 0.0, val, None)


def test_overfitting_is_an_epoch_rule():
    rules = book(Overfitting(patience=1))
    assert rules.evaluate(record(), None) == []  # nothing per step
    rules.losses.smoothed = 1.0
    assert rules.epoch_warnings(epoch(0, 0.5)) == []  # the best
    rules.losses.smoothed = 0.5
    assert rules.epoch_warnings(epoch(1, None)) == []  # no validation data
    [warning] = rules.epoch_warnings(epoch(1, 0.6))
    assert warning.rule == "overfitting" and warning.step == 20
    assert rules.epoch_warnings(epoch(2, 0.7)) == []  # once per best


# ---------------------------------------------------------------- state and rewind
def stream() -> list[StepRecord | EpochRecord]:
    """Records that move every rule's state and fire each: a bad init, a plateau, a validation
    best then worse, dead units, a blow-up."""
    items: list[StepRecord | EpochRecord] = []
    for step in range(1, 61):
        loss = 10.0 if step == 1 else 0.01 + 0.001 * (step % 3)  # a bad init, then a plateau
        items.append(record(step, loss, modules=(module("1", dead=0.95 if step > 40 else 0.1),)))
        if step % 10 == 0:
            # best first, then worse, but close enough to the training loss that the plateau
            # still counts as convergence (a large gap would be reported as overfitting)
            items.append(epoch(step // 10 - 1, 0.2 if step == 10 else 0.25 + 0.002 * step))
    items.append(record(61, 50.0, grad_norm=500.0))
    items.append(
        record(62, math.nan, math.nan, (module("0", nonfinite=1),), (param(grad_nonfinite=1),))
    )
    return items


def replay(rules: RuleBook, items: list[StepRecord | EpochRecord]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for item in items:
        if isinstance(item, EpochRecord):
            out.append(rules.epoch_warnings(item))
        else:
            out.append(rules.evaluate(item, 10))
    return out


def test_state_dict_restores_every_rule_exactly():
    items = stream()
    rules = RuleBook(Settings())
    replay(rules, items[:30])
    saved = rules.state_dict()
    first = replay(rules, items[30:])
    fired = {c.warning.rule for found in first for c in found if isinstance(c, Condition)}
    fired |= {w.rule for found in first for w in found if isinstance(w, RuleWarning)}
    assert fired == RULE_IDS - {"init_loss"}  # after the snapshot: every stateful rule moves
    end = rules.state_dict()
    rules.load_state_dict(saved)
    assert rules.state_dict() == saved
    assert replay(rules, items[30:]) == first
    assert rules.state_dict() == end
    rules.load_state_dict(saved)  # a snapshot is a copy: replaying did not change it
    assert replay(rules, items[30:]) == first


def test_rules_in_one_settings_do_not_share_state():
    settings = Settings()
    a, b = RuleBook(settings), RuleBook(settings)
    for step in range(1, 51):
        a.evaluate(record(step, 0.01), None)
    assert keys(a.evaluate(record(51, 0.01), None)) == ["converged"]
    assert b.evaluate(record(1, 0.01), None) == []


# ---------------------------------------------------------------- remedies
def all_warnings() -> list[RuleWarning]:
    rules = RuleBook(Settings())
    out = replay(rules, stream())
    found = [x for items in out for x in items]
    return [c.warning if isinstance(c, Condition) else c for c in found]


def test_remedies_name_actions_and_every_divergence_leads_with_rewind():
    warnings = all_warnings()
    assert {w.rule for w in warnings} == RULE_IDS
    for w in warnings:
        assert all(isinstance(r, Remedy) for r in w.remedies), w.rule
        actions = [r.action for r in w.remedies]
        if w.severity is Severity.DIVERGED:
            assert actions[0] == "rewind" and w.remedies[0].startswith("rewind to step ")
            assert "lower_lr" in actions
        if w.rule in {"dead_relu", "converged"}:
            assert "lower_lr" in actions
        if w.rule == "overfitting":
            assert actions == ["checkpoint", None, None]
        for r in w.remedies:
            assert (r.action == "lower_lr") == ("lower the l" in r), r


def test_the_rewind_remedy_names_the_step_before_the_best_loss():
    rules = RuleBook(Settings())
    for step, loss in enumerate([1.0, 0.5, 0.4], start=1):
        rules.evaluate(record(step, loss), None)
    [found] = rules.evaluate(record(4, 0.6, grad_norm=500.0), None)
    # step 3 had the lowest smoothed loss, measured with the weights step 2 left
    assert (
        found.warning.remedies[0] == "rewind to step 2, whose weights gave the lowest loss so far"
    )


KEYISH = re.compile(r"\bTUI\b|\bkeys?\b|\bpress\b|\([a-z\[\]]\)|\B[\[\]] (halves|doubles)")


def test_no_engine_text_names_the_tui_or_a_key():
    assert KEYISH.search("lower the learning rate ([ halves it in the TUI)")  # the check works
    assert KEYISH.search("save a checkpoint (w) after each epoch")
    for w in all_warnings():
        for text in (w.message, w.diagnosis, *w.remedies):
            assert not KEYISH.search(text), text


# ---------------------------------------------------------------- adding a rule
class LossAboveOne(Rule):
    """A toy rule: the loss is above 1."""

    def check(self, record: StepRecord, ctx: Context) -> Sequence[Condition]:
        if record.loss <= 1.0:
            return ()
        return (ctx.condition("toy", Severity.WARNING, "loss > 1", "a toy", ()),)


def test_a_new_rule_is_one_object():
    rules = book(LossAboveOne())
    assert rules.evaluate(record(loss=0.5), None) == []
    [found] = rules.evaluate(record(3, 2.0), None)
    assert found.key == "toy" and found.warning.rule == "toy" and found.warning.step == 3
    assert rules.state_dict()["rules"] == ()  # stateless: nothing to snapshot
    # with the defaults: appended after them, and it fires alongside them
    extended = RuleBook(Settings(rules=default_rules(LossAboveOne())))
    assert keys(extended.evaluate(record(1, 10.0), 10)) == ["init_loss", "toy"]


def test_default_rules_replace_a_rule_in_place():
    rules = default_rules(GradNorm(threshold=1.0))
    assert [type(r) for r in rules] == list(DEFAULT_RULES)
    assert rules[DEFAULT_RULES.index(GradNorm)] == GradNorm(threshold=1.0)
    assert [type(r) for r in Settings().rules] == list(DEFAULT_RULES)


@pytest.mark.parametrize("rule", DEFAULT_RULES)
def test_every_rule_says_what_it_detects_and_why(rule: type[Rule]):
    assert rule.__doc__ and "Why" in rule.__doc__


class _Scripted(Rule):
    """Reports the keys scripted for each step; a key may come twice (a module called twice)."""

    def check(self, record: StepRecord, ctx: Any) -> Sequence[Any]:
        script = {1: ("act", "act", "norm"), 2: ("act", "act"), 3: ("act", "act", "norm")}
        keys = script.get(record.step, ())
        return [ctx.condition(k, Severity.WARNING, k, "", ()) for k in keys]


def test_a_condition_that_ends_and_returns_warns_again_next_to_a_repeated_key(make_stepper):
    stepper = make_stepper(settings=Settings(rules=(_Scripted(),)))
    warned = [stepper.advance().steps[-1].warnings for _ in range(3)]
    assert "norm" in [w.rule for w in warned[0]] and warned[1] == ()
    assert [w.rule for w in warned[2]] == ["norm"]  # it ended on step 2: a new onset
