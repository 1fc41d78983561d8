"""The lesson's silent failures of hand-built modules, caught on the first step: modules not
registered, sharing gone wrong, a parameter broadcast over its units, symmetric units. Each
bug file names the module at fault, the cause and the fix (healthy models: test_healthy_models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import Breakpoints, Granularity, Stepper, load_experiment_file
from scratchai.engine.checks.lints import MARK, SymmetricUnits, default_lints
from scratchai.engine.settings import Settings

BUGS = Path(__file__).parent / "learner_bugs"

#: (model file, rule, target, words of the cause in the message, words of the fix)
WARNED = [
    # 1. modules not registered
    (
        "plain_list",
        "unregistered_modules",
        "hidden[0]" + MARK,
        "hang in `hidden` of Deep, a plain list",
        "sa.ModuleList",
    ),
    (
        "plain_dict",
        "unregistered_modules",
        "2.heads['left']" + MARK,
        "`heads` of '2' (TwoHeads), a plain dict",
        "sa.ModuleDict",
    ),
    (
        "tuple_of_stages",
        "unregistered_modules",
        "stages[0]" + MARK,
        "'stages[1]' (Sequential) hang in `stages` of Staged, a plain tuple",
        "sa.ModuleList",
    ),
    (
        "global_layer",
        "unregistered_modules",
        "Linear#1" + MARK,
        "'Linear#1' (Linear) ran in the forward but is held by no attribute of the model",
        "assign it as an attribute",
    ),
    # 2. sharing gone wrong
    (
        "copied_weight",
        "broken_sharing",
        "branch_b.W",
        "'branch_b.W' is equal to 'branch_a.W' but a separate Parameter: a copy, not an alias",
        "`self.branch_b.W = self.branch_a.W`",
    ),
    (
        "same_array",
        "broken_sharing",
        "4.W",
        "'4.W' and '2.W' are two Parameters on the same memory: counted and stepped twice",
        "`self.4.W = self.2.W`",
    ),
    (
        "transposed_copy",
        "broken_sharing",
        "decode.W",
        "'decode.W' is the transpose of 'encode.W'",
        "use its transpose",
    ),
    # 3. a parameter broadcast over the units
    (
        "scalar_bias",
        "broadcast_parameter",
        "fc1.b",
        "'fc1.b' has shape (1,) but 'fc1' outputs (batch, 64): one value broadcast over all 64 "
        "units; it probably should be (64,)",
        "np.zeros(64)",
    ),
    (
        "row_bias",
        "broadcast_parameter",
        "layers.1.shift",
        "'layers.1.shift' has shape (1, 1) but 'layers.1' outputs (batch, 48)",
        "(shape (1, 48))",
    ),
    # 4. symmetric units
    (
        "constant_init",
        "symmetric_units",
        "0.W",
        "all 64 units of '0' are identical (0.W's columns)",
        "initialise randomly",
    ),
    (
        "twin_units",
        "symmetric_units",
        "0.weight",
        "24 of 24 units (in 6 group(s) of identical ones) of '0'",
        "initialise randomly",
    ),
]

WHY = {
    "unregistered_modules": "not in the model's tree",
    "broken_sharing": "",
    "broadcast_parameter": "broadcasting silently pads it to every unit",
    "symmetric_units": "they receive identical gradients and can never differ",
}


def stepper_for(name: str, closing, **kwargs) -> Stepper:
    sa.manual_seed(0)
    kwargs.setdefault("breakpoints", Breakpoints.none())
    return closing(Stepper(load_experiment_file(BUGS / f"{name}.py"), **kwargs))


@pytest.mark.parametrize(("name", "rule", "target", "cause", "fix"), WARNED, ids=lambda v: v)
def test_the_bug_is_named_with_its_cause_and_fix(name, rule, target, cause, fix, closing):
    stepper = stepper_for(name, closing)
    stepper.run(max_steps=2)
    found = [w for w in stepper.warnings if w.rule == rule]
    assert len(found) >= 1, [(w.rule, w.message) for w in stepper.warnings]
    warning = found[0]
    assert warning.step == 1  # at build time: the first step
    assert warning.target == target
    assert cause in warning.message
    assert WHY[rule] in warning.diagnosis
    assert any(fix in remedy for remedy in warning.remedies), warning.remedies
    # nothing else of the lints fires on these models
    lint_rules = {r for _, r, _, _, _ in WARNED}
    assert {w.rule for w in stepper.warnings if w.rule in lint_rules} == {rule}


def test_copies_say_they_will_drift_apart_and_same_memory_is_stepped_twice(closing):
    copy = stepper_for("copied_weight", closing)
    copy.run(max_steps=1)
    [warning] = [w for w in copy.warnings if w.rule == "broken_sharing"]
    assert "they will drift apart" in warning.diagnosis
    model = copy.model
    assert not np.array_equal(model.branch_a.W.data, model.branch_b.W.data)  # and they did
    same = stepper_for("same_array", closing)
    same.run(max_steps=1)
    [warning] = [w for w in same.warnings if w.rule == "broken_sharing"]
    assert "steps the array twice" in warning.diagnosis


def test_the_strays_calls_are_in_the_layers_and_the_flow_marked_not_registered(closing):
    stepper = stepper_for("plain_list", closing)
    stepper.run(max_steps=2)
    paths = [m.path for m in stepper.last_step.modules]
    assert paths == ["inp", *(f"hidden[{i}]{MARK}" for i in range(4)), "out"]
    relu = stepper.last_step.modules[2]
    assert relu.type_name == "ReLU" and relu.dead_fraction is not None  # probed like any layer
    flow = stepper.views.flow()
    nodes = {node.path: node for node in flow.nodes}
    stray = nodes["hidden[0]" + MARK]
    assert stray.type_name == "Linear" and [p.name for p in stray.params] == ["W", "b"]
    assert stray.title == "Linear(64 → 64)"


def test_children_of_a_stray_are_named_inside_it(closing):
    stepper = stepper_for("tuple_of_stages", closing)
    stepper.run(max_steps=1)
    paths = [m.path for m in stepper.last_step.modules]
    assert paths == [
        "stages[0].0" + MARK,
        "stages[0].1" + MARK,
        "stages[1].0" + MARK,
        "stages[1].1" + MARK,
        "classifier",
    ]


@pytest.mark.parametrize("granularity", [Granularity.LAYER, Granularity.PHASE])
def test_stepping_layers_reveals_the_strays_calls_on_the_first_step(granularity, closing):
    stepper = stepper_for("plain_list", closing)
    for _ in range(12):
        stepper.advance(granularity)
        if stepper.state.name == "FORWARD" and granularity is Granularity.PHASE:
            break
    forward = [e.path for e in stepper.layer_events if e.direction == "forward"]
    assert forward[:3] == ["inp", "hidden[0]" + MARK, "hidden[1]" + MARK]


def test_a_lint_breakpoint_pauses_the_run_on_step_1(closing):
    stepper = stepper_for("scalar_bias", closing, breakpoints=Breakpoints(broadcast_parameter=True))
    advance = stepper.run(max_steps=50)
    assert advance.step == 1
    assert any(s.startswith("broadcast_parameter:") for s in advance.stopped_by)


def test_a_reload_runs_the_lints_again(closing):
    first = stepper_for("constant_init", closing)
    first.run(max_steps=1)
    again = stepper_for("constant_init", closing)  # what R does: a new stepper on a new build
    again.run(max_steps=1)
    assert [w.target for w in again.warnings if w.rule == "symmetric_units"] == ["0.W", "2.W"]


def test_after_a_rewind_to_the_start_step_1_warns_again_and_nothing_is_watched_twice(closing):
    stepper = stepper_for("plain_list", closing)
    stepper.run(max_steps=3)
    stepper.travel.goto(0)
    stepper.run(max_steps=2)
    assert sum(w.rule == "unregistered_modules" for w in stepper.warnings) == 1
    assert [m.path for m in stepper.last_step.modules].count("hidden[0]" + MARK) == 1


def test_thresholds_are_arguments(closing):
    lints = default_lints(SymmetricUnits(min_units=100))  # 64 units: too few to look at
    stepper = stepper_for("constant_init", closing, settings=Settings(lints=lints))
    stepper.run(max_steps=1)
    assert not [w for w in stepper.warnings if w.rule == "symmetric_units"]


def test_the_call_watcher_is_gone_after_the_first_forward(closing):
    original = sa.Module.__call__
    stepper = stepper_for("plain_list", closing)
    stepper.run(max_steps=1)
    assert sa.Module.__call__ is original


class Convenience(sa.Module):
    """Layers registered as attributes, and also listed in a plain list for the loop: fine."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = sa.Linear(32, 16), sa.ReLU(), sa.Linear(16, 10)
        self.order = [self.fc1, self.act, self.fc2]

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.order:
            x = layer(x)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        for layer in reversed(self.order):
            grad_output = layer.backward(grad_output)
        return grad_output


def test_a_plain_list_of_registered_modules_raises_nothing(closing):
    from scratchai.datasets import make_clusters
    from scratchai.engine import Experiment

    sa.manual_seed(0)
    data = make_clusters(n_samples=200, num_features=32, num_classes=10, seed=0)
    model = Convenience()
    experiment = Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(data, batch_size=32, shuffle=True),
        name="convenience",
    )
    stepper = closing(Stepper(experiment, breakpoints=Breakpoints.none()))
    stepper.run(max_steps=2)
    assert not [w.message for w in stepper.warnings if w.rule == "unregistered_modules"]
    assert [m.path for m in stepper.last_step.modules] == ["fc1", "act", "fc2"]
