"""The exercise grader: stubs read "not started", the reference and a file re-exporting
scratchai pass every test, and typical learner mistakes fail naming the lesson's concept."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchtui.exercise.catalog import all_exercises
from scratchtui.exercise.grader import FAIL, NOT_STARTED, PASS, grade, load_learner
from scratchtui.exercise.sources import reference_source, stub_source

REEXPORT = """from scratchai import (
    SGD, CrossEntropyLoss, Linear, Module, ModuleDict, ModuleList, Parameter, ReLU, Sequential,
    count_parameters, parameter_owners,
)
"""


def learner(tmp_path: Path, source: str, name: str = "mynn.py"):
    path = tmp_path / name
    path.write_text(source)
    return load_learner(path)


@pytest.mark.parametrize("number", list(all_exercises()))
def test_every_stub_reads_not_started(tmp_path, number):
    outcomes = grade(all_exercises()[number], learner(tmp_path, stub_source()))
    assert [o.status for o in outcomes] == [NOT_STARTED]


@pytest.mark.parametrize("source", [reference_source(), REEXPORT], ids=["reference", "reexport"])
def test_the_reference_and_scratchai_itself_pass_everything(tmp_path, source):
    nn = learner(tmp_path, source)
    for exercise in all_exercises().values():
        outcomes = grade(exercise, nn)
        assert len(outcomes) >= 3
        assert all(o.status == PASS for o in outcomes), [o for o in outcomes if o.status != PASS]


def test_a_half_written_exercise_says_which_stub_is_left(tmp_path):
    source = reference_source().replace(
        "        return self.data.shape\n",
        '        raise NotImplementedError("exercise 1: write Parameter.shape")\n',
    )
    outcomes = grade(all_exercises()[1], learner(tmp_path, source))
    assert [o.status for o in outcomes] == [NOT_STARTED, PASS, PASS]
    assert "Parameter.shape is still a stub" in outcomes[0].message


def test_a_later_exercise_on_an_unwritten_one_says_which_comes_first(tmp_path):
    source = reference_source().replace(
        '        object.__setattr__(self, "_parameters", {})\n',
        '        raise NotImplementedError("exercise 2: write Module.__init__")\n',
    )
    outcomes = grade(all_exercises()[3], learner(tmp_path, source))
    assert {o.status for o in outcomes} == {FAIL}
    assert all("needs exercise 2 first" in o.message for o in outcomes)


def test_an_endless_loop_fails_its_test_instead_of_hanging(tmp_path, monkeypatch):
    monkeypatch.setattr("scratchtui.exercise.grader.TIME_LIMIT", 0.5)
    source = reference_source().replace(
        "        return self.data.shape\n", "        while True:\n            pass\n"
    )
    outcomes = grade(all_exercises()[1], learner(tmp_path, source))
    assert outcomes[0].status == FAIL and "took over 0.5 s: an endless loop?" in outcomes[0].message
    assert [o.status for o in outcomes[1:]] == [PASS, PASS]


def test_the_reference_ships_inside_the_package():
    from importlib.resources import files

    shipped = files("scratchtui.exercise") / "data" / "mynn_reference.txt"
    assert shipped.is_file() and "class Parameter" in shipped.read_text()


# (exercise, text of the reference, the mistake, words the failure must say)
MISTAKES = [
    (
        1,
        "        self.grad = np.zeros_like(self.data)\n\n    @property",
        "        self.grad = np.zeros(1)\n\n    @property",
        "own gradient entry",
    ),
    (
        1,
        "        self.grad = np.zeros_like(self.data)\n\n\nclass Module",
        "        pass\n\n\nclass Module",
        "stale gradient",
    ),
    (
        1,
        "        self.grad = np.zeros_like(self.data)\n\n    @property",
        "        self.grad = np.zeros(self.data.shape)\n\n    @property",
        "keep .data's",
    ),
    (
        2,
        "        elif isinstance(value, Module):\n            self._modules[name] = value\n",
        "",
        "nn.Module trap",
    ),
    (
        2,
        "            self._modules[name] = value\n        object.__setattr__(self, name, value)\n",
        "            self._modules[name] = value\n        elif name not in self._parameters:\n"
        "            object.__setattr__(self, name, value)\n",
        "read back",
    ),
    (
        2,
        "        self._buffers[name] = array\n",
        "        self._parameters[name] = array\n",
        "a buffer travels with the model",
    ),
    (
        3,
        "                if id(param) not in seen:\n                    seen.add(id(param))\n"
        "                    yield",
        "                if True:\n                    yield",
        "deduplicate by id()",
    ),
    (3, "        if deduplicate:\n", "        if True:\n", "counted once"),
    (
        3,
        '                (f"{path}.{name}" if path else name, child)',
        "                (name, child)",
        "paths joined with '.'",
    ),
    (
        4,
        "            for name, buf in module._buffers.items():\n"
        "                state[dotted + name] = buf\n",
        "",
        "buffers travel with the model",
    ),
    (
        4,
        "            for name, param in module._parameters.items():\n"
        "                state[dotted + name] = param.data\n",
        "            for name, param in module._parameters.items():\n"
        "                if all(v is not param.data for v in state.values()):\n"
        "                    state[dotted + name] = param.data\n",
        "every name of a shared weight",
    ),
    (
        4,
        "        if strict and (missing or unexpected):",
        "        if False:",
        "with strict=True a missing key is an error",
    ),
    (
        4,
        "            if key in state and np.shape(state[key]) != target.shape:",
        "            if False:",
        "broadcast silently",
    ),
    (
        5,
        "        for module in reversed(list(self._modules.values())):",
        "        for module in self._modules.values():",
        "last module first",
    ),
    (5, "            x = module(x)\n", "            module(x)\n", "x = module(x) for each child"),
    (
        5,
        '``state_dict()``)."""\n        super().__init__()\n'
        "        for i, module in enumerate(modules):\n            setattr(self, str(i), module)\n",
        '``state_dict()``)."""\n        super().__init__()\n'
        "        object.__setattr__(self, 'items', list(modules))\n",
        "plain list",
    ),
    (
        6,
        "        self.b.grad += grad_output.sum(axis=0)",
        "        self.b.grad = self.b.grad + grad_output",
        "sum the gradient over the batch",
    ),
    (
        6,
        "(in_features, out_features)))",
        "(out_features, in_features)))",
        "W is (in_features, out_features)",
    ),
    (
        6,
        "        self.W.grad += self.x.T @ grad_output",
        "        self.W.grad = self.x.T @ grad_output",
        "add into .grad (+=)",
    ),
    (
        6,
        "np.random.uniform(-bound, bound, (in_features, out_features))",
        "np.random.randn(in_features, out_features)",
        "lesson's init",
    ),
    (
        7,
        "        shifted = logits - logits.max(axis=1, keepdims=True)\n",
        "        shifted = logits\n",
        "subtract each row's max",
    ),
    (7, "grad * (grad_output / len(self.targets))", "grad * grad_output", "1/batch"),
    (
        7,
        "        return grad_output * self.mask",
        "        return grad_output * (grad_output > 0)",
        "the mask comes from the input",
    ),
    (
        7,
        "        return np.maximum(x, 0)",
        "        np.maximum(x, 0, out=x)\n        return x",
        "changed its input",
    ),
    (7, "np.mean(np.log(", "np.sum(np.log(", "the sum over the batch; the loss is the mean"),
    (
        8,
        "            if id(param) not in seen:\n                seen.add(id(param))\n"
        "                self.params",
        "            if True:\n                self.params",
        "stepped twice",
    ),
    (
        8,
        "            param.data -= self.lr * param.grad",
        "            param.data = param.data - self.lr * param.grad",
        "in place",
    ),
    (
        8,
        "            param.data -= self.lr * param.grad",
        "            param.data += self.lr * param.grad",
        "against the gradient",
    ),
    (
        8,
        "        for param in self.parameters():\n            param.zero_grad()",
        "        for param in self._parameters.values():\n            param.zero_grad()",
        "still hold gradient",
    ),
    (
        9,
        "model.num_parameters(deduplicate=False)",
        "model.num_parameters(deduplicate=True)",
        "counted once",
    ),
    (
        9,
        "            owners[id(param)] = (*owners.get(id(param), ()), dotted)",
        "            owners.setdefault(id(param), (dotted,))",
        "every name it is registered under",
    ),
    (
        9,
        "        self.W.grad += self.x.T @ grad_output",
        "        self.W.grad = self.x.T @ grad_output",
        "only the second use's",
    ),
]


@pytest.mark.parametrize(("number", "old", "new", "words"), MISTAKES)
def test_a_typical_mistake_fails_naming_the_concept(tmp_path, number, old, new, words):
    source = reference_source()
    assert source.count(old) == 1, old
    outcomes = grade(all_exercises()[number], learner(tmp_path, source.replace(old, new)))
    failed = [o for o in outcomes if o.status == FAIL]
    assert failed, outcomes
    assert any(words in o.message for o in failed), [o.message for o in failed]


def test_every_exercise_has_two_mistakes_at_least():
    counts = {n: sum(m[0] == n for m in MISTAKES) for n in all_exercises()}
    assert min(counts.values()) >= 2, counts
