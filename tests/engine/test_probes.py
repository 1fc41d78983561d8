"""Probes on the lesson's MLP: shapes, sharing, update ratios, buffers; the tree's labels."""

import math

import numpy as np

import scratchai as sa
from scratchai.engine import Granularity
from scratchai.engine.views.module_info import non_default_repr


def test_lesson_mlp_probe_shapes(make_stepper):
    stepper = make_stepper()
    record = stepper.advance(Granularity.BATCH).last_step
    shapes = [(m.path, m.type_name, m.input_shape, m.output_shape) for m in record.modules]
    assert shapes == [
        ("0", "Linear", (32, 128), (32, 64)),
        ("1", "ReLU", (32, 64), (32, 64)),
        ("2", "Linear", (32, 64), (32, 10)),
    ]
    relu = record.modules[1]
    assert relu.dead_fraction is not None and 0 <= relu.dead_fraction <= 1
    assert relu.grad_norm is None  # no parameters of its own
    assert [p.path for p in record.params] == ["0.W", "0.b", "2.W", "2.b"]
    assert record.params[0].shape == (128, 64) and record.params[0].dtype == "float32"


def test_probe_numbers_match_the_arrays(make_stepper):
    stepper = make_stepper()
    record = stepper.advance(Granularity.BATCH).last_step
    w = stepper.model[0].W
    probe = record.params[0]
    assert math.isclose(probe.grad_norm, float(np.linalg.norm(w.grad)), rel_tol=1e-5)
    assert math.isclose(probe.norm, float(np.linalg.norm(w.data)), rel_tol=1e-4)
    # plain SGD: the update is lr * grad, so the ratio is lr * |g| / |W before|
    before = w.data + 0.1 * w.grad
    expected = 0.1 * np.linalg.norm(w.grad) / np.linalg.norm(before)
    assert math.isclose(probe.update_ratio, expected, rel_tol=1e-3)
    total = math.sqrt(sum(p.grad_norm**2 for p in record.params))
    assert math.isclose(record.grad_norm, total, rel_tol=1e-6)
    assert 0 <= record.accuracy <= 1 and record.lr == 0.1


def test_shared_parameter_reported_once_with_every_owner(make_stepper):
    stepper = make_stepper("shared")
    record = stepper.advance(Granularity.BATCH).last_step
    shared = [p for p in record.params if p.shared]
    assert len(shared) == 1
    assert shared[0].owners == ("branch_a.W", "branch_b.W")
    assert [p.path for p in record.params].count("branch_b.W") == 0
    dedup, naive = stepper.num_parameters
    assert naive - dedup == 64 * 32


def test_batchnorm_buffers_are_probed_and_change(make_stepper):
    stepper = make_stepper("batchnorm")
    first = stepper.advance(Granularity.BATCH).last_step
    second = stepper.advance(Granularity.BATCH).last_step
    paths = [b.path for b in first.buffers]
    assert "1.running_mean" in paths and "1.running_var" in paths
    mean_1 = next(b for b in first.buffers if b.path == "1.running_mean").data.mean
    mean_2 = next(b for b in second.buffers if b.path == "1.running_mean").data.mean
    assert mean_1 != mean_2


def test_inspect_parameter_buffer_and_module(make_stepper):
    stepper = make_stepper("shared")
    stepper.advance(Granularity.BATCH)
    info = stepper.views.inspect("branch_b.W")
    assert info.kind == "parameter" and info.owners == ("branch_a.W", "branch_b.W")
    assert sum(info.value_hist.counts) == 64 * 32
    assert info.heatmap.shape[0] <= stepper.settings.heatmap_shape[0]
    assert info.heatmap.shape[1] <= stepper.settings.heatmap_shape[1]
    assert info.grad_summary.nonfinite == 0
    module = stepper.views.inspect("head")
    assert module.kind == "module" and module.module.output_shape == (32, 10)


def test_the_tree_keeps_the_hyper_parameters_that_differ_from_the_defaults():
    assert non_default_repr(sa.Linear(3, 4)) == "in_features=3, out_features=4"
    assert non_default_repr(sa.Linear(3, 4, bias=False)).endswith("bias=False")
    assert non_default_repr(sa.BatchNorm1d(64)) == "64"
    assert non_default_repr(sa.BatchNorm1d(64, momentum=0.2)) == "64, momentum=0.2"
    assert non_default_repr(sa.Dropout(0.2)) == "p=0.2"
    assert non_default_repr(sa.ReLU()) == ""
