"""The flow: one node per recorded call, with formula, parameters, symbolic shapes, sharing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import scratchai as sa
from scratchai.engine import Granularity, Stepper, load_demo

MODELS = Path(__file__).resolve().parents[1] / "models" / "flow_models.py"


def flow_models() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flow_models", MODELS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stepper_for(name: str, closing) -> Stepper:
    sa.manual_seed(0)
    experiment = load_demo(name) if name in ("mlp", "shared") else flow_models().load(name)
    return closing(Stepper(experiment))


def test_the_lesson_mlp_reads_like_the_lessons_flowchart(closing):
    stepper = stepper_for("mlp", closing)
    assert stepper.views.flow().nodes == ()  # nothing recorded yet
    stepper.advance()
    flow = stepper.views.flow()
    assert flow.input_shape == ("batch", 128) and flow.output_shape == ("batch", 10)
    first, relu, last = flow.nodes
    assert first.title == "Linear(128 → 64)" and first.formula == "X @ W + b"
    assert [(p.name, p.shape) for p in first.params] == [("W", (128, 64)), ("b", (64,))]
    assert first.weights_per_neuron == 128 and last.weights_per_neuron == 64
    assert (first.input_shape, first.output_shape) == (("batch", 128), ("batch", 64))
    assert relu.formula == "max(0, x)" and relu.elementwise and relu.weights_per_neuron is None
    assert last.label == "logits" and first.label == ""
    assert [n.groups[0].type_name for n in flow.nodes] == ["Sequential"] * 3
    assert flow.loss is not None and flow.loss.formula == "softmax + cross-entropy"
    assert flow.loss.value == stepper.last_step.loss
    assert [n.probe for n in flow.nodes] == list(stepper.last_step.modules)


def test_formulas_are_declared_on_the_classes():
    assert sa.Linear.formula == "X @ W + b"
    assert sa.ReLU.formula == "max(0, x)"
    assert sa.BatchNorm1d.formula == "(x − mean) / sqrt(var + eps) · gamma + beta"
    assert sa.CrossEntropyLoss.formula == "softmax + cross-entropy"
    assert sa.Module.formula is None  # a user's module may declare one


def test_a_module_called_twice_is_two_nodes_each_with_its_own_numbers(closing):
    stepper = stepper_for("twice", closing)
    stepper.advance()
    nodes = [n for n in stepper.views.flow().nodes if n.path == "block"]
    assert [(n.call, n.calls) for n in nodes] == [(1, 2), (2, 2)]
    first, second = (stepper.views.module_probe("block", k) for k in (1, 2))
    assert first is not None and second is not None and first != second
    assert (nodes[0].probe, nodes[1].probe) == (first, second)
    assert stepper.views.inspect("block", 2).module == second
    assert stepper.views.module_probe("block", 3) is None
    # one gradient for both calls: each call carries its own part, and the parts add up
    inspection = stepper.views.inspect("block.W")
    parts = {c.call: c.norm for c in inspection.contributions if c.owner == "block"}
    assert nodes[0].call_grad is not None and nodes[1].call_grad is not None
    assert nodes[0].call_grad >= parts[1] and nodes[1].call_grad >= parts[2]  # W's and b's
    assert nodes[0].call_grad != nodes[1].call_grad
    scale = next(n for n in stepper.views.flow().nodes if n.path == "scale")
    assert scale.formula is None and scale.title == "Scale"  # no formula: class and shapes


def test_a_residual_block_is_a_group_with_its_formula(closing):
    stepper = stepper_for("residual", closing)
    stepper.advance()
    inner = [n for n in stepper.views.flow().nodes if n.path.startswith("block.")]
    assert [n.path for n in inner] == ["block.f.0", "block.f.1"]
    groups = inner[0].groups
    assert [(g.path, g.type_name, g.formula) for g in groups] == [
        ("", "ResidualNet", None),
        ("block", "Residual", "x + f(x)"),
        ("block.f", "Sequential", None),
    ]


def test_a_tied_weight_is_drawn_once_and_marked_on_each_user(closing):
    stepper = stepper_for("tied", closing)
    stepper.advance()
    nodes = {n.path: n for n in stepper.views.flow().nodes}
    owner_w, user_w = nodes["2"].params[0], nodes["4"].params[0]
    assert owner_w.drawn_here and owner_w.shared_with == ("4.W",)
    assert not user_w.drawn_here and user_w.shared_with == ("2.W",)
    assert nodes["4"].params[1].drawn_here and nodes["4"].params[1].shared_with == ()


def test_stepping_layers_marks_each_call_in_turn_then_the_gradient_flows_back(closing):
    stepper = stepper_for("twice", closing)
    stepper.advance(Granularity.LAYER)  # registered
    active = []
    for _ in range(6):
        stepper.advance(Granularity.LAYER)
        flow = stepper.views.flow()
        active.append([(n.path, n.call) for n in flow.nodes if n.active])
        assert flow.direction == "forward"
    assert active == [
        [("inp", 1)],
        [("block", 1)],
        [("act", 1)],
        [("block", 2)],
        [("scale", 1)],
        [("out", 1)],
    ]
    stepper.advance(Granularity.PHASE)  # the rest of the forward
    stepper.advance(Granularity.PHASE)  # the loss
    stepper.advance(Granularity.LAYER)  # the backward of 'out'
    flow = stepper.views.flow()
    assert flow.direction == "backward"
    assert [n.path for n in flow.nodes if n.backward is not None] == ["out"]
    assert [n.path for n in flow.nodes if n.active] == ["out"]
    out = next(n for n in flow.nodes if n.path == "out")
    stats, size = out.backward.stats, 16 * 16  # grad to its input: (batch, 16)
    expected = (size * (stats.std**2 + stats.mean**2)) ** 0.5
    assert out.input_grad_norm is not None and abs(out.input_grad_norm - expected) < 1e-12
    assert out.input_grad_norm > 0 and flow.nodes[0].input_grad_norm is None
    for _ in range(2):  # scale, then the second call of block: backward runs in reverse
        stepper.advance(Granularity.LAYER)
    assert [(n.path, n.call) for n in stepper.views.flow().nodes if n.active] == [("block", 2)]


def test_each_call_knows_whose_output_it_read(closing):
    stepper = stepper_for("mlp", closing)
    stepper.advance()
    assert [m.source for m in stepper.last_step.modules] == [None, 0, 1]
    stepper = stepper_for("shared", closing)
    stepper.advance()  # both branches read slices, the ReLU a concatenation: made in forward
    assert [m.source for m in stepper.last_step.modules] == [None, None, None, 2]
    stepper = stepper_for("residual", closing)
    stepper.advance()
    flow = stepper.views.flow()
    assert flow.sources and [n.source for n in flow.nodes] == [None, 0, 1, None]


def test_two_calls_reading_one_output_are_branches(closing):
    class Fork(sa.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem, self.left, self.right = sa.Linear(8, 4), sa.Linear(4, 3), sa.Linear(4, 3)

        def forward(self, x):
            h = self.stem(x)
            return self.left(h) + self.right(h)

        def backward(self, g):
            return self.stem.backward(self.left.backward(g) + self.right.backward(g))

    models = flow_models()
    sa.manual_seed(0)
    stepper = closing(Stepper(models._experiment(Fork(), "fork")))
    stepper.advance()
    assert [n.source for n in stepper.views.flow().nodes] == [None, 0, 0]  # right reads stem too
