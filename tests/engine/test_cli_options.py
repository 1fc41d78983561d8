"""The command line checks its options before anything trains (issue 22, item 4): ``--export``
with a suffix it cannot write fails at once, ``--lr`` replaces the file's learning rate on
``demo``, ``run``, ``check`` and ``serve``, ``--strict`` turns a finished headless run with a
warning into exit 5, and no export, checkpoint or screenshot replaces an earlier file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import Stepper, load_demo
from scratchai.engine.timeline.file_names import write_new
from scratchtui.cli import main
from scratchtui.serve import app_command

BUGS = Path(__file__).parent / "learner_bugs"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scratchtui.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize("target", ["run.txt", "run", "run.csv.bak"])
def test_an_export_suffix_it_cannot_write_fails_before_training(tmp_path, target):
    started = time.perf_counter()
    result = cli("demo", "mlp", "--headless", "--steps", "100000", "--export", target, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "export to .csv or .json" in result.stderr
    assert "training" not in result.stdout and "layers after step" not in result.stdout
    assert time.perf_counter() - started < 30  # 100,000 steps were never started
    assert list(tmp_path.iterdir()) == []


def test_an_export_into_a_directory_fails_before_training(tmp_path):
    (tmp_path / "out.csv").mkdir()
    target = str(tmp_path / "out.csv")
    assert main(["demo", "mlp", "--headless", "--steps", "3", "--export", target]) == 2


def test_exports_never_replace_an_earlier_file(tmp_path, capsys):
    target = tmp_path / "run.csv"
    for _ in range(3):
        assert main(["demo", "mlp", "--headless", "--steps", "2", "--export", str(target)]) == 0
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-2.csv", "run-3.csv", "run.csv"]
    for name in ("run.csv", "run-2.csv", "run-3.csv"):
        assert f"history written to {tmp_path / name}" in out


def test_lr_replaces_the_files_learning_rate_headless(tmp_path):
    diverging = cli("demo", "diverge", "--headless", "--steps", "100", cwd=tmp_path)
    assert diverging.returncode == 3 and "--lr" in diverging.stdout  # the remedy names it
    lowered = cli("demo", "diverge", "--headless", "--steps", "100", "--lr", "0.05", cwd=tmp_path)
    assert lowered.returncode == 0, lowered.stdout + lowered.stderr
    assert "lr 0.05" in lowered.stdout and "diverged" not in lowered.stdout


@pytest.mark.parametrize("command", ["demo", "check", "serve"])
def test_a_bad_lr_is_a_usage_error_before_anything_runs(tmp_path, command, capsys):
    args = {"demo": ["demo", "mlp", "--headless"], "check": ["check", "demo", "mlp"]}
    argv = [*args.get(command, ["serve", "demo", "mlp"]), "--lr", "-1"]
    assert main(argv) == 2
    assert "--lr must be a finite number >= 0" in capsys.readouterr().err


def test_lr_on_run_and_check(tmp_path, capsys):
    model = tmp_path / "m.py"
    model.write_text((Path(__file__).parents[2] / "demos" / "mlp.py").read_text())
    assert main(["run", str(model), "--headless", "--steps", "2", "--lr", "0.0123"]) == 0
    assert "lr 0.0123" in capsys.readouterr().out
    # check: a tiny lr cannot overfit one batch (the check says the weights barely move)
    assert main(["check", "demo", "mlp", "--lr", "1e-9"]) == 5
    assert "overfit one batch" in capsys.readouterr().out


def test_serve_passes_lr_to_every_tab():
    command = app_command("mlp", None, 0, lr=0.01)
    assert command[-2:] == ["--lr", "0.01"]
    assert "--lr" not in app_command("mlp", None, 0)


def test_strict_exits_5_when_a_backward_check_fails(tmp_path):
    bug = str(BUGS / "assign_grad.py")
    relaxed = cli("run", bug, "--headless", "--steps", "10", cwd=tmp_path)
    assert relaxed.returncode == 0 and "backward of 'a' (AssigningLinear) is wrong" in (
        relaxed.stdout
    )
    strict = cli("run", bug, "--headless", "--steps", "10", "--strict", cwd=tmp_path)
    assert strict.returncode == 5, strict.stdout + strict.stderr
    assert "--strict: 2 warning(s) (backward_check): exit 5" in strict.stderr


def test_strict_exits_5_when_a_rule_warns_and_0_on_a_healthy_run(capsys):
    bug = str(BUGS / "twin_units.py")  # identical units: a build-time lint warns
    assert main(["run", bug, "--headless", "--steps", "5"]) == 0
    assert main(["run", bug, "--headless", "--steps", "5", "--strict"]) == 5
    assert "--strict: 1 warning(s) (symmetric_units): exit 5" in capsys.readouterr().err
    assert main(["demo", "mlp", "--headless", "--steps", "30", "--strict"]) == 0
    # a divergence keeps its own status
    assert main(["demo", "diverge", "--headless", "--steps", "100", "--strict"]) == 3


def test_strict_needs_headless(capsys):
    assert main(["demo", "mlp", "--strict"]) == 2
    assert "--strict apply to --headless runs" in capsys.readouterr().err


def test_write_new_numbers_taken_names_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "a" / "x.step3.csv"
    written = [write_new(target, lambda tmp, i=i: tmp.write_text(str(i))) for i in range(3)]
    assert [p.name for p in written] == ["x.step3.csv", "x.step3-2.csv", "x.step3-3.csv"]
    assert [p.read_text() for p in written] == ["0", "1", "2"]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in written)
    assert write_new(tmp_path / "noext", lambda tmp: tmp.write_text("")).name == "noext"
    assert write_new(tmp_path / "noext", lambda tmp: tmp.write_text("")).name == "noext-2"


def test_a_write_that_fails_leaves_no_file(tmp_path):
    def fails(tmp):
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_new(tmp_path / "run.csv", fails)
    assert list(tmp_path.iterdir()) == []


def test_without_hard_links_the_name_is_claimed(tmp_path, monkeypatch):
    def no_links(source, target):
        raise PermissionError("no hard links here")

    monkeypatch.setattr("os.link", no_links)
    (tmp_path / "run.csv").write_text("earlier")
    written = write_new(tmp_path / "run.csv", lambda tmp: tmp.write_text("new"))
    assert written.name == "run-2.csv" and written.read_text() == "new"
    assert (tmp_path / "run.csv").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-2.csv", "run.csv"]


def test_checkpoints_at_the_same_step_keep_each_other(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Stepper(load_demo("mlp")) as stepper:
        stepper.advance()
        first = stepper.views.save_checkpoint()
        second = stepper.views.save_checkpoint()
    assert first.name == "mlp-step1.safetensors" and second.name == "mlp-step1-2.safetensors"
    a, b = sa.load(first), sa.load(second)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


async def test_two_screenshots_of_one_second_keep_each_other(tmp_path, monkeypatch):
    from scratchtui.app import ScratchApp

    monkeypatch.chdir(tmp_path)
    app = ScratchApp(Stepper(load_demo("mlp")))
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_screenshot(filename="same.svg")
        app.action_screenshot(filename="same.svg")
        await pilot.pause()
    names = sorted(p.name for p in (tmp_path / "screenshots").iterdir())
    assert names == ["same-2.svg", "same.svg"]
    assert all((tmp_path / "screenshots" / n).read_text().startswith("<svg") for n in names)
