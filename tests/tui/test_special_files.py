"""A model file argument that is not a regular file is named for what it is (a FIFO said "no
such file"), and nothing opens it: opening a FIFO would block until a writer came."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from scratchtui.cli import main


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
@pytest.mark.parametrize(
    "command", [["run"], ["check"], ["serve"], ["run", "--headless"]], ids=" ".join
)
def test_a_fifo_is_called_a_fifo(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "model.py"
    os.mkfifo(fifo)
    argv = [command[0], str(fifo), *command[1:]]
    assert main(argv) == 2
    assert f"{fifo} is a named pipe (FIFO), not a model file" in capsys.readouterr().err


def test_missing_and_directories_keep_their_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(tmp_path / "nope.py")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["run", str(tmp_path)]) == 2
    assert "is a directory, not a model file" in capsys.readouterr().err
    if sys.platform.startswith("linux"):
        assert main(["run", "/dev/null"]) == 2
        assert "/dev/null is a character device" in capsys.readouterr().err
