"""Going to any step of a run: back by checkpoint and replay (bit for bit), forward by training."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import Breakpoints, Granularity, Settings, State, Stepper, load_demo


def _weights(stepper: Stepper) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in stepper.model.state_dict().items()}


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_goto_an_earlier_step_equals_the_original_bit_for_bit(make_stepper):
    stepper = make_stepper("batchnorm", breakpoints=Breakpoints.none())  # buffers + momentum
    stepper.run(max_steps=137)
    at_137, loss_137 = _weights(stepper), stepper.last_step.loss
    optimizer_137 = stepper.experiment.optimizer.state_dict()
    stepper.run(max_steps=200)
    stepper.travel.goto(137)
    assert stepper.step == 137 and stepper.last_step.step == 137
    _same(_weights(stepper), at_137)
    assert stepper.last_step.loss == loss_137
    for key, value in optimizer_137.items():
        if isinstance(value, list):
            for mine, theirs in zip(
                stepper.experiment.optimizer.state_dict()[key], value, strict=True
            ):
                if isinstance(mine, np.ndarray):
                    np.testing.assert_array_equal(mine, theirs)
    assert len(stepper.history) == 137 and stepper.epochs[-1].step <= 137


def test_goto_forward_trains_and_stops_at_a_breakpoint(make_stepper):
    stepper = make_stepper("mlp", breakpoints=Breakpoints(at_step=30))
    advance = stepper.travel.goto(50)
    assert stepper.step == 30 and advance.stopped_by
    stepper.travel.goto(50)
    assert stepper.step == 50


def test_restart_equals_a_fresh_start(make_stepper):
    stepper = make_stepper("batchnorm", breakpoints=Breakpoints.none())
    fresh = _weights(stepper)
    first = [stepper.advance(Granularity.BATCH).last_step.loss for _ in range(30)]
    stepper.run(max_steps=70)
    stepper.travel.restart()
    assert stepper.step == 0 and stepper.last_step is None and stepper.warnings == ()
    _same(_weights(stepper), fresh)
    again = [stepper.advance(Granularity.BATCH).last_step.loss for _ in range(30)]
    assert again == first
    other = make_stepper("batchnorm", breakpoints=Breakpoints.none())  # same seed, new stepper
    assert [other.advance(Granularity.BATCH).last_step.loss for _ in range(30)] == first


def test_diverge_go_back_to_step_0_lower_lr_and_recover(make_stepper):
    stepper = make_stepper("diverge", breakpoints=Breakpoints.none())
    stepper.run(max_steps=200)
    assert stepper.state is State.DIVERGED or not np.isfinite(stepper.last_step.loss)
    advice = [w for w in stepper.warnings if w.remedies and w.remedies[0].action == "rewind"]
    assert advice and advice[0].remedies[0].startswith("rewind to step 0")
    stepper.travel.goto(0)
    for _ in range(6):
        stepper.scale_lr(0.5)  # 8.0 -> 0.125
    stepper.run(max_steps=300)
    assert stepper.state is not State.DIVERGED and stepper.last_step.loss < 0.5
    assert stepper.history.lr_changes[-1][2] == pytest.approx(0.125)


def test_replay_uses_the_learning_rates_of_the_time(make_stepper):
    stepper = make_stepper("mlp", breakpoints=Breakpoints.none())
    stepper.run(max_steps=10)
    stepper.scale_lr(0.5)
    stepper.run(max_steps=10)
    at_20 = _weights(stepper)
    stepper.scale_lr(4.0)  # the user's latest lr: kept after going back, not used by replay
    stepper.run(max_steps=5)
    stepper.travel.goto(20)
    _same(_weights(stepper), at_20)
    assert stepper.lr == pytest.approx(0.2)
    assert stepper.advance(Granularity.BATCH).last_step.lr == pytest.approx(0.2)


def test_checkpoints_stay_within_their_budget(make_stepper):
    stepper = make_stepper("mlp", settings=Settings(checkpoint_every=1, rewind_budget_mb=0.5))
    stepper.breakpoints = Breakpoints.none()
    stepper.run(max_steps=400)
    timeline = stepper.travel.timeline
    assert timeline is not None and timeline.nbytes <= 0.5 * 2**20
    assert timeline.every > 1 and 0 in timeline.checkpoints  # thinned, the start kept
    assert timeline.nbytes == sum(c.nbytes for c in timeline.checkpoints.values())
    before = _weights(stepper)
    stepper.travel.goto(399)
    stepper.travel.goto(400)
    _same(_weights(stepper), before)
    stepper.travel.goto(100)
    stepper.advance(Granularity.BATCH)  # a new timeline from step 100: later checkpoints go
    assert max(timeline.checkpoints) <= 100
    assert timeline.nbytes == sum(c.nbytes for c in timeline.checkpoints.values())


def test_the_checkpoint_budget_counts_what_checkpoints_really_hold(make_stepper):
    """At the lesson's size the data order and the random generators' states outweigh the
    weights: a budget counting only the weights was exceeded twice over."""
    settings = Settings(checkpoint_every=1, rewind_budget_mb=64)
    stepper = make_stepper("mlp", settings=settings, breakpoints=Breakpoints.none())
    stepper.run(max_steps=5)
    timeline = stepper.travel.timeline
    tracemalloc.start()
    try:
        before, counted = tracemalloc.get_traced_memory()[0], timeline.nbytes
        stepper.run(max_steps=100)
        grown, added = tracemalloc.get_traced_memory()[0] - before, timeline.nbytes - counted
    finally:
        tracemalloc.stop()
    assert len(timeline.checkpoints) > 100 and grown <= 1.2 * added


def test_a_failure_in_the_update_is_undone_by_replay(closing):
    sa.manual_seed(0)
    experiment = load_demo("mlp")
    stepper = closing(Stepper(experiment, Settings(checkpoint_every=7)))
    stepper.run(max_steps=12)
    before = _weights(stepper)
    optimizer = experiment.optimizer
    original = optimizer.step

    def half_then_fail() -> None:
        optimizer.step = original  # a glitch: the replay's updates are the normal ones
        optimizer.params[0].data[...] += 1.0  # half an update...
        raise RuntimeError("optimizer bug")  # ...then a failure

    optimizer.step = half_then_fail
    with pytest.raises(sa.engine.StepFailed, match="optimizer bug"):
        stepper.advance(Granularity.BATCH)
    assert stepper.step == 12
    _same(_weights(stepper), before)


def test_export_writes_a_history_that_parses_back(make_stepper, tmp_path):
    import csv
    import json

    stepper = make_stepper("mlp", breakpoints=Breakpoints.none())
    stepper.run(max_steps=120)  # 50 batches an epoch: two validations
    path = stepper.views.export(tmp_path / "run.json")
    document = json.loads(path.read_text())
    steps = document["steps"]
    assert steps["step"] == list(range(1, 121))
    assert steps["loss"][-1] == pytest.approx(stepper.last_step.loss)
    assert steps["grad_norm:0.W"][-1] == pytest.approx(stepper.last_step.params[0].grad_norm)
    assert [e["step"] for e in document["epochs"]] == [50, 100]
    rows = list(csv.DictReader(stepper.views.export(tmp_path / "run.csv").open()))
    assert len(rows) == 120 and float(rows[49]["val_loss"]) == pytest.approx(
        stepper.epochs[0].val_loss
    )
    assert rows[48]["val_loss"] == "" and float(rows[-1]["lr"]) == pytest.approx(0.1)
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        stepper.views.export(tmp_path / "run.txt")


def test_a_downsampled_export_keeps_whole_steps_used_lrs_and_every_validation(
    make_stepper, tmp_path
):
    import csv

    stepper = make_stepper("mlp", settings=Settings(history_capacity=8))
    stepper.breakpoints = Breakpoints.none()
    stepper.run(max_steps=75)
    stepper.set_lr(0.2)
    stepper.run(max_steps=125)  # 200 steps in 8 + 8 rows: groups of many steps
    rows = list(csv.DictReader(stepper.views.export(tmp_path / "run.csv").open()))
    steps = [float(r["step"]) for r in rows]
    assert len(rows) < 40 and all(s.is_integer() for s in steps) and steps[-1] == 200
    assert {float(r["lr"]) for r in rows} <= {0.1, 0.2}  # never an average of the two
    assert sum(r["val_loss"] != "" for r in rows) == len(stepper.epochs) == 4


def test_the_initial_experiment_is_a_copy_at_step_0(make_stepper):
    stepper = make_stepper("batchnorm", breakpoints=Breakpoints.none())  # buffers + momentum
    assert stepper.travel.initial_experiment() is stepper.experiment  # at step 0: itself
    at_0 = _weights(stepper)  # parameters and running statistics
    stepper.run(max_steps=40)
    now = _weights(stepper)
    initial = stepper.travel.initial_experiment()
    _same({k: v.copy() for k, v in initial.model.state_dict().items()}, at_0)
    _same(_weights(stepper), now)  # the training state is untouched
    assert initial.optimizer.step_count == 0 and stepper.experiment.optimizer.step_count == 40
    assert initial.optimizer.params[0] is next(iter(initial.model.parameters()))


def test_train_and_eval_modes_of_the_last_batch_side_by_side(make_stepper):
    stepper = make_stepper("batchnorm", breakpoints=Breakpoints.none())
    assert stepper.views.compare_modes() is None
    stepper.run(max_steps=5)
    before = _weights(stepper)
    buffers = {k: v.copy() for k, v in stepper.model.named_buffers()}
    rng = sa.get_rng().bit_generator.state
    train, evaluation = stepper.views.compare_modes()
    assert [p.path for p in train] == [p.path for p in evaluation]
    norm = next(i for i, p in enumerate(train) if p.type_name == "BatchNorm1d")
    # with the batch's own statistics the output is standardised; with the running ones not
    assert abs(train[norm].output.mean) < 0.05 and abs(train[norm].output.std - 1) < 0.05
    assert abs(evaluation[norm].output.std - train[norm].output.std) > 0.01
    _same(_weights(stepper), before)  # nothing changed: weights, buffers, random numbers
    for key, value in stepper.model.named_buffers():
        np.testing.assert_array_equal(value, buffers[key])
    assert sa.get_rng().bit_generator.state == rng
    assert all(m.training for m in stepper.model.modules())


def test_a_run_measures_layers_every_few_steps_and_shows_the_last_step_whole(make_stepper):
    stepper = make_stepper("mlp", breakpoints=Breakpoints.none())
    stepper.advance(Granularity.BATCH)
    assert stepper.last_step.layers_fresh  # a single step is always measured whole
    advance = stepper.run(max_steps=15)
    steps = advance.steps
    light = [r for r in steps if not r.layers_fresh]
    assert light and all(r.layers_step < r.step for r in light)
    assert all(
        r.modules == next(s for s in steps if s.step == r.layers_step).modules
        for r in light
        if any(s.step == r.layers_step for s in steps)
    )
    assert [r.step for r in steps if r.layers_fresh][:1] == [10]  # every 10 steps in a run
    last = stepper.last_step
    assert last.step == 16 and last.layers_fresh and last.modules  # the pause is shown whole
    stepper.request_layers()
    stepper.run(max_steps=2)
    assert [r.layers_fresh for r in stepper._recent_records][-2:] == [True, True]


class GlobalDropout(sa.Module):
    """A learner's Dropout: the mask from NumPy's global generator, not the library's."""

    def forward(self, x):
        mask = (np.random.rand(*x.shape) > 0.5) * 2.0
        self.save_for_backward(mask)
        return x * mask

    def backward(self, grad_output):
        (mask,) = self.saved_for_backward()
        return grad_output * mask


def _global_dropout_stepper(closing) -> Stepper:
    sa.manual_seed(0)
    np.random.seed(0)
    experiment = load_demo("mlp")
    experiment.model.insert(2, GlobalDropout())  # after the ReLU
    return closing(Stepper(experiment, Settings(checkpoint_every=10)))


def test_replay_repeats_draws_from_numpys_global_generator(closing):
    """Going back and forward again gives the same weights: checkpoints keep NumPy's and
    Python's generators too."""
    stepper = _global_dropout_stepper(closing)
    stepper.run(max_steps=37)
    at_37 = _weights(stepper)
    stepper.run(max_steps=20)
    stepper.travel.goto(37)
    _same(_weights(stepper), at_37)


def test_a_batch_taken_back_mid_forward_gives_back_numpys_draws(closing):
    """Undoing a batch in progress after the Dropout drew its mask: the redone batch draws
    the same mask as the original would (the undo replays from a checkpoint), so a later
    replay of the same steps agrees with them."""
    stepper = _global_dropout_stepper(closing)
    stepper.run(max_steps=12)
    for _ in range(4):  # into the next batch's forward, past the Dropout
        stepper.advance(Granularity.LAYER)
    stepper.travel.rewind(1)  # the batch in progress
    assert stepper.step == 12
    stepper.run(max_steps=3)
    at_15 = _weights(stepper)
    stepper.travel.goto(12)
    stepper.travel.goto(15)
    _same(_weights(stepper), at_15)
