"""The recipe's pre-flight checklist: passes on the demos, names what fails, touches nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import load_demo, load_experiment_file
from scratchai.engine.checks import run_checklist
from scratchai.random import get_rng_state
from scratchtui.cli import main

BUGS = Path(__file__).parent / "learner_bugs"
NAMES = [
    "data sanity",
    "loss at init",
    "backward check",
    "module lints",
    "overfit one batch",
    "input-independent baseline",
]


@pytest.mark.parametrize("name", ["mlp", "shared", "batchnorm", "digits"])
def test_every_check_passes_on_the_healthy_demos(name):
    sa.manual_seed(0)
    checklist = run_checklist(load_demo(name))
    assert [r.name for r in checklist.results] == NAMES
    assert checklist.passed, str(checklist)


def test_the_experiment_is_left_exactly_as_it_was():
    sa.manual_seed(0)
    experiment = load_demo("batchnorm")
    state = {k: v.copy() for k, v in experiment.model.state_dict().items()}
    loader, rng = experiment.train_loader.state_dict(), get_rng_state()
    run_checklist(experiment)
    assert all(np.array_equal(state[k], v) for k, v in experiment.model.state_dict().items())
    assert get_rng_state() == rng
    after = experiment.train_loader.state_dict()
    assert after["epoch"] == loader["epoch"] and after["batch"] == loader["batch"]
    assert all(not p.grad.any() for p in experiment.model.parameters())


@pytest.mark.parametrize(
    ("file", "failed", "words"),
    [
        ("relu_no_mask", "backward check", "'1' (MyReLU): input gradient ignores the mask"),
        ("tiny_lr", "overfit one batch", "raise the learning rate"),
        ("tiny_lr", "input-independent baseline", "make the model train first"),
        ("inputs_x1000", "data sanity", "standardise the inputs"),
        ("inputs_x1000", "loss at init", "standardise the inputs first"),
        ("plain_list", "module lints", "sa.ModuleList"),
        ("copied_weight", "module lints", "`self.branch_b.W = self.branch_a.W`"),
        ("scalar_bias", "module lints", "np.zeros(64)"),
    ],
)
def test_a_failing_check_says_what_blocks_it(file, failed, words):
    sa.manual_seed(0)
    checklist = run_checklist(load_experiment_file(BUGS / f"{file}.py"))
    result = next(r for r in checklist.results if r.name == failed)
    assert not result.passed and words in result.fix


def test_cli_check_exits_zero_on_a_demo_and_one_naming_the_module_on_a_wrong_backward(capsys):
    assert main(["check", "demo", "digits"]) == 0
    assert "all 6 checks passed" in capsys.readouterr().out
    assert main(["check", str(BUGS / "relu_no_mask.py")]) == 5
    out = capsys.readouterr().out
    assert "FAIL" in out and "'1' (MyReLU)" in out
    assert main(["check", "demo"]) == 2
    assert main(["check", "demo", "nope"]) == 2


def test_headless_run_prints_the_backward_check_warning_with_its_fix(capsys):
    assert main(["run", str(BUGS / "relu_no_mask.py"), "--headless", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "backward of '1' (MyReLU) is wrong" in out and "fix MyReLU.backward" in out
