"""The lesson's silent failures that only show at training time, as learner-bug model files:
a hand-written loss whose backward misses a factor, labels that do not belong to their inputs,
randomness in eval mode, running statistics never updated, and the user's code raising inside
an automatic check. Each warning names the module, the cause and the fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import Breakpoints, Settings, Stepper, load_experiment_file
from scratchai.engine.checks import run_checklist
from scratchai.engine.rules import Convergence, Overfitting, default_rules

BUGS = Path(__file__).parent / "learner_bugs"

#: (model file, steps, rule, target it must name, words of the cause, words of the fix)
WARNED = [
    # 5. the loss's backward
    (
        "loss_forgets_batch",
        1,
        "backward_check",
        "",
        "the loss (MyCrossEntropy) is wrong: the gradient w.r.t. the model's output is 32 times "
        "the true gradient: 32 is the batch size",
        "fix MyCrossEntropy.backward",
    ),
    (
        "loss_sums_elements",
        1,
        "backward_check",
        "",
        "the loss (SquaredError) is wrong: the gradient w.r.t. the model's output is 4 times the "
        "true gradient: 4 is the number of outputs per sample",
        "fix SquaredError.backward",
    ),
    # 6. labels that do not belong to their inputs
    (
        "shuffled_labels",
        400,
        "mismatched_labels",
        "",
        "validation accuracy has stayed at chance (7%; chance is 10% for 10 classes) for 5 "
        "epochs while training accuracy climbed to",
        "shuffle inputs and labels together",
    ),
    (
        "sorted_labels",
        400,
        "mismatched_labels",
        "",
        "chance is 25% for 4 classes) for 5 epochs while training accuracy climbed to 93%",
        "shuffle inputs and labels together",
    ),
    # 7. train/eval mode bugs
    (
        "eval_dropout",
        60,
        "eval_randomness",
        "2",
        "'2' (MyDropout) is random in eval mode: two identical calls on the same batch",
        "`if not self.training: return x`",
    ),
    (
        "eval_noise",
        60,
        "eval_randomness",
        "parts.noise",
        "'parts.noise' (GaussianNoise) is random in eval mode",
        "in GaussianNoise.forward, draw the mask only when training",
    ),
    (
        "frozen_batchnorm",
        60,
        "frozen_statistics",
        "1",
        "'1' (MyBatchNorm) never updates its buffers (running_mean, running_var): they have not "
        "changed in 25 steps, yet its eval output differs from its train output",
        "update the running statistics in place",
    ),
    (
        "frozen_local_update",
        60,
        "frozen_statistics",
        "layers.1",
        "'layers.1' (Norm) never updates its buffers (mean, var)",
        "in Norm.forward, when training, update the running statistics in place",
    ),
    # 8. the user's code raising inside an automatic check
    (
        "check_raises_perturbed",
        1,
        "backward_check",
        "layers.2",
        "the backward check of 'layers.2' (RootFeatures) could not finish: its forward raised "
        "ValueError on a perturbed input: RootFeatures needs non-negative input",
        "should accept any float64 input",
    ),
    (
        "check_raises_float64",
        1,
        "backward_check",
        "1",
        "could not finish: the forward of '1' (Float32Only) raised TypeError on a float64 copy "
        "of the batch: Float32Only wants float32 input",
        "should accept any float64 input",
    ),
]


def run(name: str, steps: int, closing: Callable[[Stepper], Stepper]) -> Stepper:
    sa.manual_seed(0)
    experiment = load_experiment_file(BUGS / f"{name}.py")
    stepper = closing(Stepper(experiment, breakpoints=Breakpoints.none()))
    stepper.run(max_steps=steps)
    return stepper


@pytest.mark.parametrize(("name", "steps", "rule", "target", "cause", "fix"), WARNED, ids=str)
def test_the_bug_is_named_with_its_cause_and_fix(name, steps, rule, target, cause, fix, closing):
    stepper = run(name, steps, closing)
    found = [w for w in stepper.warnings if w.rule == rule and cause in w.message]
    assert found, [(w.rule, w.message) for w in stepper.warnings]
    assert found[0].target == target
    assert any(fix in remedy for remedy in found[0].remedies), found[0].remedies


def test_a_loss_check_failure_pauses_a_run_on_the_backward_check_breakpoint(closing):
    sa.manual_seed(0)
    experiment = load_experiment_file(BUGS / "loss_forgets_batch.py")
    stepper = closing(Stepper(experiment, breakpoints=Breakpoints(backward_check=True)))
    advance = stepper.run(max_steps=5)
    assert advance.step == 1 and "the loss (MyCrossEntropy)" in advance.stopped_by[0]


def test_the_loss_check_runs_on_demand_and_in_the_checklist(closing):
    stepper = run("loss_forgets_batch", 1, closing)
    report = stepper.views.check_backward()
    [failed] = report.failed
    assert failed.path == "(loss)" and "32 is the batch size" in failed.finding
    assert "the loss (MyCrossEntropy): FAIL" in failed.summary()
    sa.manual_seed(0)
    checklist = run_checklist(load_experiment_file(BUGS / "loss_forgets_batch.py"))
    line = next(r for r in checklist.results if r.name == "backward check")
    assert not line.passed and "32 is the batch size" in line.fix


def test_a_check_that_could_not_finish_fails_the_checklist_line():
    sa.manual_seed(0)
    checklist = run_checklist(load_experiment_file(BUGS / "check_raises_perturbed.py"))
    line = next(r for r in checklist.results if r.name == "backward check")
    assert not line.passed
    assert "could not finish: its forward raised ValueError on a perturbed input" in line.fix


def test_a_frozen_statistics_warning_names_both_modules_of_a_deep_model(closing):
    stepper = run("frozen_local_update", 30, closing)
    named = [w.target for w in stepper.warnings if w.rule == "frozen_statistics"]
    assert named == ["layers.1", "layers.4"]
    assert not [w for w in stepper.warnings if w.rule == "backward_check"]


@pytest.mark.parametrize("name", ["shuffled_labels", "sorted_labels"])
def test_labels_apart_from_their_inputs_are_not_called_overfitting(name, closing):
    """Without the chance test the overfitting rules would fire (validation loss rising while
    the training loss falls; a plateau with a gap); with it, only the labels are named."""

    def warned(chance_margin: float) -> set[str]:
        sa.manual_seed(0)
        rules = default_rules(
            Overfitting(chance_margin=chance_margin), Convergence(chance_margin=chance_margin)
        )
        stepper = closing(
            Stepper(
                load_experiment_file(BUGS / f"{name}.py"),
                Settings(rules=rules),
                Breakpoints.none(),
            )
        )
        stepper.run(max_steps=1500)
        return {w.rule for w in stepper.warnings}

    assert "overfitting" in warned(-1.0)  # the chance test off: what it said before
    found = warned(0.1)
    assert "mismatched_labels" in found and "overfitting" not in found


def test_the_baseline_check_blames_the_labels_not_the_lr_when_one_batch_overfits():
    sa.manual_seed(0)
    checklist = run_checklist(load_experiment_file(BUGS / "shuffled_labels.py"))
    lines = {r.name: r for r in checklist.results}
    assert lines["overfit one batch"].passed
    baseline = lines["input-independent baseline"]
    assert not baseline.passed
    assert "the labels likely do not belong to their inputs" in baseline.fix
    assert "learning rate" not in baseline.fix and "lr" not in baseline.fix.split()


@pytest.mark.parametrize(
    ("name", "breakpoint"),
    [
        ("eval_dropout", "eval_randomness"),
        ("frozen_batchnorm", "frozen_statistics"),
        ("shuffled_labels", "mismatched_labels"),
    ],
)
def test_a_run_pauses_on_the_new_warnings_breakpoint(name, breakpoint, closing):
    sa.manual_seed(0)
    stepper = closing(
        Stepper(
            load_experiment_file(BUGS / f"{name}.py"),
            breakpoints=Breakpoints(**{breakpoint: True}),
        )
    )
    advance = stepper.run(max_steps=400)
    assert advance.stopped_by and advance.stopped_by[0].startswith(f"{breakpoint}: ")


def test_the_mode_probe_changes_nothing():
    from scratchai.engine.observe.modes_probe import ModeProbes
    from scratchai.engine.views.model_index import ModelIndex

    sa.manual_seed(0)
    model = sa.Sequential(
        sa.Linear(8, 16), sa.BatchNorm1d(16), sa.ReLU(), sa.Dropout(0.5), sa.Linear(16, 3)
    )
    model[3].eval()  # one module's own flag, as the user set it
    probes = ModeProbes(ModelIndex(model))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    rng, global_rng = sa.get_rng().bit_generator.state, np.random.get_state()
    result = probes.probe(np.random.default_rng(1).standard_normal((32, 8)).astype(np.float32))
    assert result is not None and result.random_in_eval == () and result.error == ""
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert sa.get_rng().bit_generator.state == rng
    assert all(np.array_equal(a, b) for a, b in zip(np.random.get_state(), global_rng, strict=True))
    assert [m.training for m in model.modules()] == [True, True, True, True, False, True]


def test_the_mode_warnings_go_with_a_rewind_and_come_back_once(closing):
    stepper = run("frozen_batchnorm", 30, closing)
    assert [w.rule for w in stepper.warnings].count("frozen_statistics") == 1
    stepper.travel.goto(10)  # before the epoch's end that warned
    assert "frozen_statistics" not in [w.rule for w in stepper.warnings]
    stepper.run(max_steps=20)
    assert [w.rule for w in stepper.warnings].count("frozen_statistics") == 1


class RaisesInEval(sa.Module):
    def forward(self, x):
        if not self.training:
            raise RuntimeError("eval mode is not written yet")
        return x

    def backward(self, grad_output):
        return grad_output


def test_the_user_code_raising_in_the_mode_probe_is_reported(closing, monkeypatch):
    monkeypatch.syspath_prepend(str(BUGS))
    from learner_setup import experiment

    sa.manual_seed(0)
    model = sa.Sequential(sa.Linear(32, 16), RaisesInEval(), sa.Linear(16, 10))
    exp = experiment(model, "raises-in-eval")
    exp.val_data = None  # validation would raise first
    stepper = closing(Stepper(exp, breakpoints=Breakpoints.none()))
    stepper.run(max_steps=30)
    [warning] = [w for w in stepper.warnings if "could not finish" in w.message]
    assert warning.rule == "eval_randomness"
    assert (
        "the train/eval check could not finish: the forward of '1' (RaisesInEval) raised "
        "RuntimeError: eval mode is not written yet" in warning.message
    )


def test_a_noisy_dataset_that_generalises_a_little_is_overfitting_not_mismatched_labels(
    closing, monkeypatch
):
    """160 noisy samples: training accuracy climbs fast while validation, on 40 samples, leaves
    chance only slowly (to 30 %): the labels rule waits for the training accuracy to be 70 %
    of the way to 100 % before it judges, by then validation has left chance."""
    monkeypatch.syspath_prepend(str(BUGS))
    from learner_setup import experiment

    for spread in (6.0, 8.0):
        sa.manual_seed(0)
        model = sa.Sequential(sa.Linear(32, 256), sa.ReLU(), sa.Linear(256, 10))
        exp = experiment(model, "noisy", lr=0.1, n_samples=200, spread=spread)
        stepper = closing(Stepper(exp, breakpoints=Breakpoints.none()))
        stepper.run(max_steps=1500)
        found = {w.rule for w in stepper.warnings}
        assert "mismatched_labels" not in found and "overfitting" in found


def test_the_labels_rule_stays_silent_while_eval_mode_is_broken():
    """Validation runs in eval mode: a broken eval mode (here a batch norm never updated)
    puts validation at chance by itself, and that is the cause to name, not the labels."""
    from types import SimpleNamespace

    from scratchai.engine.observe.records import EpochRecord, ModeDifference, ModesProbe
    from scratchai.engine.rules import Context, LossTracker, MismatchedLabels

    def epochs(rule: MismatchedLabels, first_modes: ModesProbe) -> list:
        warned = []
        for e in range(8):
            ctx = Context(10 * (e + 1), 10, LossTracker(0.1))
            for _ in range(10):
                rule.check(SimpleNamespace(accuracy=0.9), ctx)  # type: ignore[arg-type]
            modes = first_modes if e == 0 else None  # probed on the first epoch only
            warned += rule.check_epoch(EpochRecord(e, 10 * (e + 1), 0.1, 2.4, 0.1, modes), ctx)
        return warned

    frozen = ModeDifference("1", "MyBatchNorm", 1.5, ("running_mean", "running_var"))
    assert epochs(MismatchedLabels(), ModesProbe(frozen=(frozen,))) == []
    [warning] = epochs(MismatchedLabels(), ModesProbe())
    assert warning.rule == "mismatched_labels"


class NoisyNet(sa.Module):
    """Noise added by the model's own forward, outside any module: the model itself is named."""

    def __init__(self) -> None:
        super().__init__()
        self.body = sa.Linear(32, 24)
        self.head = sa.Linear(24, 10)

    def forward(self, x):
        return self.head(self.body(x)) + 0.1 * np.random.randn(len(x), 10)  # in eval too

    def backward(self, grad_output):
        return self.body.backward(self.head.backward(grad_output))


def test_randomness_in_the_model_s_own_forward_names_the_model(closing, monkeypatch):
    monkeypatch.syspath_prepend(str(BUGS))
    from learner_setup import experiment

    sa.manual_seed(0)
    stepper = closing(Stepper(experiment(NoisyNet(), "noisy"), breakpoints=Breakpoints.none()))
    stepper.run(max_steps=30)
    [warning] = [w for w in stepper.warnings if w.rule == "eval_randomness"]
    assert warning.message.startswith("the model (NoisyNet) is random in eval mode")
    assert warning.target == ""
