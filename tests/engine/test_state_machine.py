"""The stepper walks the lesson's states in order at every granularity."""

import numpy as np
import pytest

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment, Granularity, State, Stepper, load_demo

PHASES = [State.FORWARD, State.LOSS, State.BACKWARD, State.UPDATED]


def test_phase_steps_follow_the_lesson_states(make_stepper):
    stepper = make_stepper()
    assert stepper.state is State.DEFINED
    states = [stepper.advance(Granularity.PHASE).state for _ in range(9)]
    assert states == [State.REGISTERED, *PHASES, *PHASES]
    assert stepper.step == 2


def test_layer_steps_visit_each_module_forward_then_backward(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.PHASE)  # registered
    seen = []
    while True:
        advance = stepper.advance(Granularity.LAYER)
        if advance.layer is not None:
            seen.append((advance.layer.direction, advance.layer.path, stepper.state))
        else:
            seen.append(("phase", advance.state.value, stepper.state))
        if advance.state is State.UPDATED:
            break
    assert seen == [
        ("forward", "0", State.FORWARD),
        ("forward", "1", State.FORWARD),
        ("forward", "2", State.FORWARD),
        ("phase", "forward", State.FORWARD),
        ("phase", "loss", State.LOSS),
        ("backward", "2", State.BACKWARD),
        ("backward", "1", State.BACKWARD),
        ("backward", "0", State.BACKWARD),
        ("phase", "backward", State.BACKWARD),
        ("phase", "updated", State.UPDATED),
    ]
    assert stepper.step == 1


def test_layer_event_shapes_and_active_path(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.PHASE)
    advance = stepper.advance(Granularity.LAYER)
    assert stepper.active_path == "0"
    assert advance.layer.input_shape == (32, 128)
    assert advance.layer.output_shape == (32, 64)
    # finishing the phase from inside a pass completes that pass
    assert stepper.advance(Granularity.PHASE).state is State.FORWARD
    assert stepper.active_path is None


def test_layer_stepping_gives_the_same_numbers_as_batch_stepping(make_stepper):
    by_layer = make_stepper()
    while by_layer.step < 2:
        by_layer.advance(Granularity.LAYER)
    by_batch = make_stepper()
    by_batch.advance(Granularity.BATCH)
    by_batch.advance(Granularity.BATCH)
    assert by_layer.last_step.loss == by_batch.last_step.loss


def test_batch_and_epoch_steps(make_stepper):
    stepper = make_stepper()
    advance = stepper.advance(Granularity.BATCH)
    assert advance.state is State.UPDATED and advance.step == 1 and len(advance.steps) == 1
    batches_per_epoch = len(stepper.experiment.train_loader)
    advance = stepper.advance(Granularity.EPOCH)
    assert stepper.step == batches_per_epoch
    assert len(advance.epochs) == 1
    epoch = advance.epochs[0]
    assert epoch.epoch == 0 and epoch.val_loss is not None and 0 <= epoch.val_accuracy <= 1
    stepper.advance(Granularity.EPOCH)
    assert stepper.step == 2 * batches_per_epoch
    assert [e.epoch for e in stepper.epochs] == [0, 1]


def test_run_converges_or_stops_at_max_steps(make_stepper):
    stepper = make_stepper()
    advance = stepper.run(max_steps=40)
    assert stepper.step == 40 and advance.stopped_by == ()
    assert advance.steps[-1].step == 40
    assert stepper.last_step.loss < stepper.history.arrays()["loss"][0]


def test_run_honours_should_stop(make_stepper):
    stepper = make_stepper()
    calls = []
    stepper.run(should_stop=lambda: calls.append(1) or len(calls) >= 3)
    assert stepper.step == 3


def test_batch_in_progress_is_visible_between_phases(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.BATCH)
    stepper.advance(Granularity.LAYER)
    stepper.advance(Granularity.LAYER)
    assert [e.path for e in stepper.layer_events] == ["0", "1"]
    assert stepper.layer_events[1].stats.min >= 0  # a ReLU output
    assert stepper.batch_loss is None
    stepper.advance(Granularity.PHASE)  # finish the forward
    stepper.advance(Granularity.PHASE)  # the loss
    assert stepper.state is State.LOSS and stepper.batch_loss is not None
    assert stepper.batch_loss != stepper.last_step.loss  # a new batch, not the last record
    stepper.advance(Granularity.BATCH)
    assert stepper.last_step.loss == stepper.batch_loss


def test_phase_stepping_records_every_layer_of_the_pass(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.BATCH)
    stepper.advance(Granularity.PHASE)  # the whole forward at once
    assert stepper.state is State.FORWARD
    forward = [(e.direction, e.path, e.output_shape) for e in stepper.layer_events]
    assert forward == [
        ("forward", "0", (32, 64)),
        ("forward", "1", (32, 64)),
        ("forward", "2", (32, 10)),
    ]
    stepper.advance(Granularity.PHASE)  # loss
    stepper.advance(Granularity.PHASE)  # the whole backward
    backward = [(e.path, e.input_shape, e.output_shape) for e in stepper.layer_events[3:]]
    # backward runs last layer first; grad wrt the data too, since the user looks at it
    assert backward == [
        ("2", (32, 10), (32, 64)),
        ("1", (32, 64), (32, 64)),
        ("0", (32, 64), (32, 128)),
    ]
    stepper.advance(Granularity.BATCH)
    assert not stepper.mid_batch


def test_mid_batch_is_false_during_a_run(make_stepper):
    stepper = make_stepper()
    stepper.advance(Granularity.BATCH)
    stepper.advance(Granularity.PHASE)
    assert stepper.mid_batch  # paused inside a batch
    seen = []
    stepper.run(should_stop=lambda: seen.append(stepper.mid_batch) or len(seen) >= 5)
    assert seen == [False] * 5 and not stepper.mid_batch


def test_parameter_gradient_norm_of_a_layer_only_once_it_is_final(closing):
    sa.manual_seed(0)
    stepper = closing(Stepper(load_demo("shared")))
    stepper.advance(Granularity.BATCH)
    stepper.advance(Granularity.PHASE)
    stepper.advance(Granularity.PHASE)
    stepper.advance(Granularity.PHASE)  # the whole backward
    norms = {e.path: e.grad_norm for e in stepper.layer_events if e.direction == "backward"}
    head = stepper.model.head
    expected = np.sqrt((head.W.grad**2).sum() + (head.b.grad**2).sum())
    assert norms["head"] == pytest.approx(expected, rel=1e-5)
    assert norms["act"] is None  # no parameters
    assert norms["branch_a"] is None and norms["branch_b"] is None  # W is shared: not final


def test_a_module_used_twice_has_no_partial_gradient_norm(closing):
    sa.manual_seed(0)
    layer = sa.Linear(8, 8)
    model = sa.Sequential(layer, sa.Tanh(), layer, sa.Linear(8, 3))
    data = make_clusters(n_samples=64, num_features=8, num_classes=3, seed=0)
    experiment = Experiment(
        model=model,
        loss=sa.CrossEntropyLoss(),
        optimizer=sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(data, batch_size=16),
    )
    stepper = closing(Stepper(experiment))
    for _ in range(4):
        stepper.advance(Granularity.PHASE)  # registered, forward, loss, backward
    norms = [(e.path, e.grad_norm) for e in stepper.layer_events if e.direction == "backward"]
    assert [path for path, _ in norms] == ["3", "0", "1", "0"]
    assert norms[0][1] is not None and norms[1][1] is None and norms[3][1] is None
