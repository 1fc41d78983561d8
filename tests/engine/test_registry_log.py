"""The registry log: every registration of build(), in order, recorded from outside the core
(Module's methods are wrapped only while recording and put back afterwards)."""

from __future__ import annotations

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import load_demo
from scratchai.engine.views import recording_registrations

WRAPPED = ("__setattr__", "register_parameter", "register_buffer", "add_module")


def originals() -> dict:
    return {name: sa.Module.__dict__.get(name) for name in WRAPPED}


def test_the_shared_demo_logs_its_tie_as_the_same_object():
    before = originals()
    with recording_registrations() as log:
        experiment = load_demo("shared")
    assert originals() == before
    entries = log.resolve(experiment.model, experiment.loss)
    assert [(e.owner, e.registry, e.name) for e in entries[:3]] == [
        ("branch_a", "_parameters", "W"),
        ("branch_a", "_parameters", "b"),
        ("", "_modules", "branch_a"),
    ]
    tie = next(e for e in entries if e.code.startswith("self.branch_b.W = self.branch_a.W"))
    assert tie.file.endswith("shared.py") and tie.owner_label == "model.branch_b"
    assert tie.same_as == 1 and tie.replaces == 4 and tie.equal_to is None
    assert entries[0].file == "scratchai/layers.py" and entries[0].via.endswith("shared.py:19")
    assert entries[0].code.startswith("self.W = Parameter(")


def test_buffers_modules_and_empty_slots_each_go_to_their_registry():
    class Net(sa.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = sa.Sequential(sa.Linear(3, 2, bias=False), sa.BatchNorm1d(2))
            self.register_buffer("steps", np.zeros(1))
            self.plain = np.ones(2)  # no registry

    with recording_registrations() as log:
        net = Net()
    got = [(e.owner_label, e.registry, e.name, e.kind) for e in log.resolve(net)]
    assert got == [
        ("model.body.0", "_parameters", "W", "Parameter"),
        ("model.body.0", "_parameters", "b", "None"),
        ("model.body.1", "_parameters", "gamma", "Parameter"),
        ("model.body.1", "_parameters", "beta", "Parameter"),
        ("model.body.1", "_buffers", "running_mean", "buffer"),
        ("model.body.1", "_buffers", "running_var", "buffer"),
        ("model.body", "_modules", "0", "Module"),
        ("model.body", "_modules", "1", "Module"),
        ("model", "_modules", "body", "Module"),
        ("model", "_buffers", "steps", "buffer"),
    ]


def test_a_copy_is_a_new_object_with_equal_values_and_an_alias_is_not():
    with recording_registrations() as log:
        model = sa.Module()
        model.a = sa.Linear(4, 4)
        model.b = sa.Linear(4, 4)
        model.b.W = sa.Parameter(model.a.W.data.copy())  # a copy where a tie was meant
        model.c = sa.Linear(4, 4)
        model.c.W = sa.Parameter(model.a.W.data)  # two Parameters on one array
    entries = log.resolve(model)
    copy, wrap = (e for e in entries if e.name == "W" and e.equal_to is not None)
    assert copy.owner == "b" and copy.equal_to == 1 and not copy.same_array
    assert wrap.owner == "c" and wrap.equal_to == 1 and wrap.same_array
    assert all(e.same_as is None for e in entries)


def test_a_failed_build_and_a_refused_assignment_leave_module_as_it_was():
    before = originals()
    with pytest.raises(ValueError), recording_registrations() as log:
        layer = sa.Linear(2, 2)
        with pytest.raises(sa.ShapeError):
            layer.W = sa.Parameter(np.zeros((3, 3)))  # refused by the core: not logged
        raise ValueError("build failed")
    assert originals() == before
    assert [e.name for e in log.resolve(layer)] == ["W", "b"]
    layer.W = sa.Parameter(np.zeros((2, 2), np.float32))  # no recording any more
    assert len(log) == 2


def test_a_nested_recording_is_refused_instead_of_waiting_forever():
    with (
        recording_registrations(),
        pytest.raises(RuntimeError, match="already recording"),
        recording_registrations(),
    ):
        pass
    with recording_registrations() as log:  # and the next one works
        sa.Linear(1, 1)
    assert len(log) == 2
