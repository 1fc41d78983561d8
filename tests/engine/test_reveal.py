"""Stepping layers runs a pass whole, then reveals its recorded calls one by one: what each
reveal shows is what a pause in the middle of the pass would have shown."""

from __future__ import annotations

import numpy as np
import pytest

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment, Granularity, Settings, StepFailed, Stepper, load_demo


def _grad_std(stepper: Stepper, path: str) -> float | None:
    summary = stepper.views.inspect(path).grad_summary
    return None if summary is None else summary.std


def test_a_shared_weight_shows_its_partial_gradient_in_the_middle_of_the_backward(closing):
    """``branch_b.W = branch_a.W``: after branch_a's backward the shared gradient holds its
    part only; after branch_b's, the whole (what the update then uses)."""
    stepper = closing(Stepper(load_demo("shared")))
    stepper.advance(Granularity.BATCH)
    stepper.advance(Granularity.PHASE)  # the forward
    stepper.advance(Granularity.PHASE)  # the loss
    seen = {}
    while True:
        stepper.advance(Granularity.LAYER)
        if stepper.active_path is None:
            break
        seen[stepper.active_path] = _grad_std(stepper, "branch_a.W")
    assert list(seen) == ["head", "act", "branch_a", "branch_b"]
    assert seen["head"] is None and seen["act"] is None  # no call shown added to it yet
    final = float(stepper.model.branch_a.W.grad.std())
    assert seen["branch_b"] == pytest.approx(final)
    assert seen["branch_a"] is not None and seen["branch_a"] != pytest.approx(final)
    assert _grad_std(stepper, "branch_a.W") == pytest.approx(final)  # the backward is done


class Boom(sa.Module):
    def forward(self, x):
        raise ValueError("boom")

    def backward(self, grad_output):
        return grad_output


def test_a_pass_that_raises_is_revealed_up_to_the_module_that_raised(closing):
    sa.manual_seed(0)
    model = sa.Sequential(sa.Linear(4, 4), sa.ReLU(), Boom(), sa.Linear(4, 2))
    data = make_clusters(n_samples=32, num_features=4, num_classes=2, seed=0)
    experiment = Experiment(
        model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1), sa.DataLoader(data, 8)
    )
    # no backward check before the first step: it would meet Boom first
    stepper = closing(Stepper(experiment, settings=Settings(backward_check_first=False)))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    stepper.advance(Granularity.PHASE)  # registered
    shown = []
    with pytest.raises(StepFailed) as failure:
        for _ in range(5):
            stepper.advance(Granularity.LAYER)
            shown.append(stepper.active_path)
    assert shown == ["0", "1"]  # the layers before the one that raised
    assert failure.value.module == "2" and "ValueError: boom" in failure.value.summary
    assert stepper.step == 0 and not stepper.mid_batch and stepper.layer_events == ()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
