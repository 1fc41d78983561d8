"""Rewind reproduces steps exactly; rules and breakpoints fire where they should."""

import math

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import (
    Breakpoints,
    EpochRecord,
    Experiment,
    Granularity,
    Settings,
    Severity,
    State,
    Stepper,
)
from scratchai.engine.rules import Overfitting, RuleBook
from scratchai.engine.timeline.history import History


def test_rewind_then_rerun_reproduces_losses_bit_for_bit(make_stepper):
    stepper = make_stepper("batchnorm")  # buffers, momentum, dropout-free but shuffled data
    stepper.run(max_steps=5)
    weights = {p: v.copy() for p, v in stepper.model.state_dict().items()}
    losses = [stepper.advance(Granularity.BATCH).last_step.loss for _ in range(10)]
    assert stepper.travel.rewind(10) == 10
    assert stepper.step == 5
    for key, value in stepper.model.state_dict().items():
        np.testing.assert_array_equal(value, weights[key])
    again = [stepper.advance(Granularity.BATCH).last_step.loss for _ in range(10)]
    assert again == losses
    assert stepper.history.arrays()["step"][-1] == 15
    assert len(stepper.history) == 15


def test_inspect_tells_a_cleared_gradient_from_a_computed_one(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.BATCH)
    first = stepper.views.inspect("0.W").grad_summary
    stepper.advance(Granularity.BATCH)
    assert stepper.views.inspect("0.W").grad_summary.std > 0
    stepper.travel.rewind(1)  # back at the end of step 1, replayed: step 1's gradient, bit for bit
    assert stepper.views.inspect("0.W").grad_summary == first
    stepper.advance(Granularity.PHASE)  # a new batch: zero_grad, then the forward
    assert stepper.views.inspect("0.W").grad_summary is None
    stepper.travel.rewind(1)  # the batch in progress undone: its gradient was never computed
    assert stepper.views.inspect("0.W").grad_summary is None
    stepper.advance(Granularity.PHASE)
    assert stepper.views.inspect("0.W").grad_summary is None
    stepper.advance(Granularity.BATCH)
    assert stepper.views.inspect("0.W").grad_summary.std > 0


def test_rewind_mid_batch_returns_to_the_batch_start(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.BATCH)
    loss = stepper.last_step.loss
    stepper.advance(Granularity.PHASE)
    stepper.advance(Granularity.LAYER)  # inside the loss phase or backward
    assert stepper.travel.rewind(1) == 1
    assert stepper.step == 1 and stepper.state is State.UPDATED
    assert stepper.last_step.loss == loss
    stepper.advance(Granularity.LAYER)
    assert stepper.active_path == "0"  # a fresh forward, one layer in
    stepper.travel.rewind(1)
    assert stepper.active_path is None and stepper.step == 1


def test_rewind_reaches_every_step_back_to_the_start(make_stepper):
    stepper = make_stepper(settings=Settings(checkpoint_every=4))
    stepper.run(max_steps=60)
    assert stepper.travel.depth == 60
    assert stepper.travel.rewind(10) == 10 and stepper.step == 50
    assert stepper.travel.rewind(100) == 50 and stepper.step == 0
    assert stepper.travel.rewind(1) == 0


def test_no_rewind_when_switched_off(make_stepper):
    stepper = make_stepper(settings=Settings(rewind=False))
    stepper.run(max_steps=6)
    assert stepper.travel.depth == 0 and stepper.travel.rewind(1) == 0 and stepper.step == 6


def test_lr_change_is_recorded_and_kept_across_rewind(make_stepper):
    stepper = make_stepper()
    stepper.run(max_steps=3)
    stepper.scale_lr(0.5)
    assert stepper.lr == pytest.approx(0.05)
    stepper.advance(Granularity.BATCH)
    assert stepper.last_step.lr == pytest.approx(0.05)
    assert stepper.history.lr_changes == [(3, 0.1, 0.05)]
    stepper.travel.rewind(2)
    assert stepper.lr == pytest.approx(0.05)


def test_diverge_demo_trips_the_rules_and_names_the_first_nonfinite_module(make_stepper):
    stepper = make_stepper("diverge")
    advance = stepper.run(max_steps=200)
    assert stepper.state is State.DIVERGED
    assert advance.stopped_by and advance.stopped_by[0].startswith("diverged")
    assert stepper.step < 60
    rules = {w.rule for w in stepper.warnings}
    assert rules & {"grad_norm", "nonfinite_loss", "loss_explosion"}
    # keep going until an activation goes NaN/Inf: the rule names the first such module
    stepper.breakpoints = Breakpoints(diverged=False, nonfinite=False)
    for _ in range(100):
        stepper.run(max_steps=1)
        if any(m.output.nonfinite for m in stepper.last_step.modules):
            break
    nonfinite = [w for w in stepper.warnings if w.rule == "nonfinite_output"]
    assert nonfinite, [w.rule for w in stepper.warnings]
    first_bad = next(m.path for m in stepper.last_step.modules if m.output.nonfinite)
    assert nonfinite[0].target == first_bad
    assert first_bad in nonfinite[0].message and nonfinite[0].severity is Severity.DIVERGED
    assert "lower the learning rate" in " ".join(nonfinite[0].remedies)


def test_diverge_demo_recovers_after_rewind_and_lower_lr(make_stepper):
    stepper = make_stepper("diverge")
    stepper.run(max_steps=200)
    assert stepper.state is State.DIVERGED
    stepper.travel.rewind(stepper.travel.depth)
    for _ in range(7):
        stepper.scale_lr(0.5)
    advance = stepper.run(max_steps=100)
    assert not any(s.startswith("diverged") for s in advance.stopped_by)
    assert math.isfinite(stepper.last_step.loss) and stepper.state is not State.DIVERGED


def test_breakpoint_at_step_and_grad_norm(make_stepper):
    stepper = make_stepper(breakpoints=Breakpoints(at_step=7))
    advance = stepper.run(max_steps=100)
    assert stepper.step == 7 and advance.stopped_by == ("at_step: step 7",)
    stepper = make_stepper(breakpoints=Breakpoints(grad_norm_above=0.0))
    advance = stepper.run(max_steps=100)
    assert stepper.step == 1 and advance.stopped_by[0].startswith("grad_norm_above")


def test_breakpoint_loss_rose_fires_on_a_rise(make_stepper):
    stepper = make_stepper(breakpoints=Breakpoints(loss_rose=True))
    advance = stepper.run(max_steps=300)
    if advance.stopped_by:
        losses = stepper.history.arrays()["loss"]
        assert losses[-1] > losses[-2] * 1.1
    stepper = make_stepper("diverge", breakpoints=Breakpoints(loss_rose=True, diverged=False))
    advance = stepper.run(max_steps=300)
    assert advance.stopped_by and advance.stopped_by[0].startswith("loss_rose")


def test_breakpoints_none_never_pause_but_rules_still_warn(make_stepper):
    stepper = make_stepper("diverge", breakpoints=Breakpoints.none())
    advance = stepper.run(max_steps=200)
    assert stepper.step == 200 and not advance.stopped_by
    assert any(w.severity is Severity.DIVERGED for w in stepper.warnings)


def test_warning_fires_once_per_onset(make_stepper):
    stepper = make_stepper("diverge", breakpoints=Breakpoints(diverged=False, nonfinite=False))
    stepper.run(max_steps=120)
    grad_warnings = [w for w in stepper.warnings if w.rule == "grad_norm"]
    high = np.sum(stepper.history.arrays()["grad_norm"] > 100)
    assert 1 <= len(grad_warnings) <= high


def test_history_memory_is_bounded_over_100k_steps():
    history = History(capacity=512)
    for step in range(1, 100_001):
        history.append(step, 1.0 / step, None, 1.0, 0.1)
    arrays = history.arrays()
    assert len(arrays["loss"]) <= 3 * 512
    steps = arrays["step"]
    assert steps[-1] == 100_000
    assert steps[0] == steps[1] - steps[0]  # the oldest group covers steps 1 to its label
    assert np.all(np.diff(steps) > 0)
    # every archived point averages the same number of steps: evenly spaced
    archived = np.diff(steps[:100])
    assert archived.min() == archived.max()


def test_history_keeps_nonfinite_points_when_downsampling():
    history = History(capacity=8)
    for step in range(1, 200):
        history.append(step, math.nan if step == 5 else 1.0, None, 1.0, 0.1)
    assert np.isnan(history.arrays()["loss"]).sum() == 1


def test_stepper_history_bounded(make_stepper):
    stepper = make_stepper(settings=Settings(history_capacity=64))
    stepper.run(max_steps=600)
    assert len(stepper.history) <= 128


def test_converged_pauses_a_run_once(make_stepper):
    stepper = make_stepper()
    first = stepper.run(max_steps=2000)
    assert stepper.state is State.CONVERGED and first.stopped_by[0].startswith("converged")
    step = stepper.step
    again = stepper.run(max_steps=20)  # still converged: the run is not stopped again
    assert again.stopped_by == () and stepper.step == step + 20


def test_divergence_remedy_names_the_step_to_rewind_to(make_stepper):
    stepper = make_stepper("diverge")
    stepper.run(max_steps=200)
    warning = next(w for w in stepper.warnings if w.severity is Severity.DIVERGED)
    assert warning.remedies[0].startswith("rewind to step 0")


def test_convergence_warns_once_on_a_long_plateau(make_stepper):
    stepper = make_stepper(breakpoints=Breakpoints(converged=False))
    stepper.run(max_steps=1500)
    assert stepper.state is State.CONVERGED
    assert [w.rule for w in stepper.warnings].count("converged") == 1


def test_overfitting_warns_once_per_best_validation_loss():
    rules = RuleBook(Settings(rules=(Overfitting(patience=3, margin=0.05),)))
    val_losses = [1.0, 0.8, 0.82, 0.86, 0.9, 0.95, 0.7, 0.75, 0.8, 0.9]
    fired = []
    for epoch, val in enumerate(val_losses):
        rules.losses.smoothed = 1.0 - 0.05 * epoch  # the training loss keeps falling
        warnings = rules.epoch_warnings(EpochRecord(epoch, 10 * (epoch + 1), 0.0, val, None))
        fired.extend((epoch, warning) for warning in warnings)
    # best 0.8 at epoch 1; 3 epochs later (epoch 4) 0.9 > 0.8 * 1.05. A new best (0.7) re-arms.
    assert [epoch for epoch, _ in fired] == [4, 9]
    epoch, warning = fired[0]
    assert warning.rule == "overfitting" and warning.severity is Severity.WARNING
    assert "best, 0.8 at epoch 2" in warning.message and "step 20" in warning.remedies[0]


def test_overfitting_margin_holds_for_negative_losses():
    rules = RuleBook(Settings(rules=(Overfitting(patience=1, margin=0.05),)))
    rules.losses.smoothed = 1.0
    assert rules.epoch_warnings(EpochRecord(0, 1, 0.0, -1.0, None)) == []  # the best
    rules.losses.smoothed = 0.5
    assert rules.epoch_warnings(EpochRecord(1, 2, 0.0, -0.999, None)) == []  # within 5 %
    assert rules.epoch_warnings(EpochRecord(2, 3, 0.0, -0.9, None)) != []


def test_no_overfitting_warning_while_the_training_loss_rises_too():
    rules = RuleBook(Settings())
    for epoch, val in enumerate([0.5, 0.6, 0.7, 0.8, 0.9]):
        rules.losses.smoothed = 0.5 + 0.1 * epoch  # both rise: divergence, not overfitting
        assert rules.epoch_warnings(EpochRecord(epoch, epoch + 1, 0.0, val, None)) == []


def test_a_model_that_memorises_random_labels_is_told_it_overfits(closing):
    sa.manual_seed(0)
    rng = np.random.default_rng(0)
    data = sa.ArrayDataset(rng.standard_normal((64, 8)).astype(np.float32), rng.integers(0, 3, 64))
    train, val = sa.train_val_split(data, val_fraction=0.5, seed=0)
    model = sa.Sequential(sa.Linear(8, 64), sa.ReLU(), sa.Linear(64, 3))
    experiment = Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.2),
        train_loader=sa.DataLoader(train, batch_size=8),
        val_data=val,
    )
    stepper = closing(Stepper(experiment, breakpoints=Breakpoints.none()))
    advance = stepper.run(max_steps=40)
    overfitting = [w for w in stepper.warnings if w.rule == "overfitting"]
    assert len(overfitting) == 1 and overfitting[0] in advance.warnings
    stepper.travel.rewind(stepper.travel.depth)  # back before it: the warning and its state go too
    assert not any(w.rule == "overfitting" for w in stepper.warnings)
    stepper.run(max_steps=40 - stepper.step)
    assert [w.rule for w in stepper.warnings].count("overfitting") == 1
