"""Experiment names and descriptions are printed as text by the headless runner and by
``check``: markup in them is shown, not interpreted (it crashed the run), and a 100,000-character
name costs milliseconds (Rich's highlighter took 107 s over it)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from scratchai.engine import Stepper, load_demo
from scratchtui.cli import main

MODEL = """
import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment

def build():
    data = make_clusters(n_samples=64, num_features=4, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(4, 3))
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name=NAME, description=DESCRIPTION)
"""


def _model(tmp_path: Path, name: str, description: str) -> Path:
    path = tmp_path / "named.py"
    path.write_text(
        MODEL.replace("NAME", repr(name), 1).replace("DESCRIPTION", repr(description), 1)
    )
    return path


@pytest.mark.parametrize("command", [["--headless", "--steps", "3"], None])
def test_markup_in_a_name_is_printed_as_written(
    command: list[str] | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _model(tmp_path, "[/bold] [red", "[/] [link=x]desc")
    argv = ["run", str(path), *command] if command else ["check", str(path)]
    assert main(argv) in (0, 5)  # 5: a pre-flight check failed, which is not the point here
    out = capsys.readouterr().out
    assert "[/bold] [red" in out
    if command:
        assert "[/] [link=x]desc" in out


def test_a_100000_character_name_costs_no_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _model(tmp_path, "x" * 100_000, "d")
    started = time.perf_counter()
    assert main(["run", str(path), "--headless", "--steps", "3"]) == 0
    took = time.perf_counter() - started
    assert took < 10, f"{took:.1f} s"  # 107 s before; ~0.5 s now, start-up included
    assert "x" * 100_000 in capsys.readouterr().out


async def test_w_s_and_x_keep_a_hostile_name_inside_their_folders(app_on, tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    os.chdir(tmp_path / "work")  # the autouse fixture's monkeypatch.chdir restores the cwd
    experiment = load_demo("mlp")
    experiment.name = "../../[red]" + "y" * 5000
    app = app_on(Stepper(experiment))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "w", "s", "x")
        await pilot.pause()
        assert app.title.endswith("../../[red]" + "y" * 5000)  # the title shows it as written
    made = sorted(p.relative_to(tmp_path).parts[:2] for p in tmp_path.rglob("*") if p.is_file())
    assert [folder for _, folder in made] == ["checkpoints", "exports", "screenshots"], made
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]


def test_an_export_path_with_markup_is_printed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _model(tmp_path, "m", "d")
    target = tmp_path / "[red]run.csv"
    assert main(["run", str(path), "--headless", "--steps", "2", "--export", str(target)]) == 0
    assert f"history written to {target}" in capsys.readouterr().out
    assert target.exists()
