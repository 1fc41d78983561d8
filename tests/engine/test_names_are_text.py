"""An experiment's name is text: the checkpoints, exports and screenshots named after it stay
in their folders, whatever the name holds (separators, '..', markup, 100,000 characters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchai.engine import Stepper, load_demo

HOSTILE = ["../../escaped", "a/b/c", "..", "[/bold] [red", "x" * 100_000, "C:\\win\\path"]


@pytest.mark.parametrize(
    "name", HOSTILE, ids=["dotdot", "slashes", "bare-dots", "markup", "100k", "backslashes"]
)
def test_files_named_after_the_experiment_stay_in_their_folders(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    experiment = load_demo("mlp")
    experiment.name = name
    with Stepper(experiment) as stepper:
        checkpoint = stepper.views.save_checkpoint()
        export = stepper.views.export()
    assert checkpoint.parent == (work / "checkpoints").resolve()
    assert export.parent == (work / "exports").resolve()
    for path in (checkpoint, export):
        assert len(path.name.encode()) < 255 and not path.name.startswith(".")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # nothing escaped
    assert sorted(p.name for p in work.iterdir()) == ["checkpoints", "exports"]
