"""``scratchtui exercise``: start writes the workspace and never overwrites it; check prints a
line per test and exits 0 / 6 / 4 / 2; hint and solution; run opens the learner's layers."""

from __future__ import annotations

from pathlib import Path

import pytest

from scratchtui.cli import main
from scratchtui.exercise.sources import reference_source


@pytest.fixture
def workspace(tmp_path, monkeypatch, capsys) -> Path:
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "start"]) == 0
    capsys.readouterr()
    return tmp_path / "net-architect"


def test_start_writes_the_stubs_and_the_exercise_list(workspace):
    stub = (workspace / "mynn.py").read_text()
    assert 'raise NotImplementedError("exercise 6: write Linear.backward")' in stub
    assert "grad_output (batch, out_features)" in stub  # the contract and shapes stay
    listing = (workspace / "EXERCISES.md").read_text()
    assert "scratchtui exercise check 1" in listing and "9. **Parameter sharing" in listing


def test_start_never_overwrites_the_learners_file(workspace, capsys):
    (workspace / "mynn.py").write_text("# my work\n")
    assert main(["exercise", "start", str(workspace)]) == 2
    assert "never overwrites" in capsys.readouterr().err
    assert (workspace / "mynn.py").read_text() == "# my work\n"


def test_check_on_the_stubs_says_not_started_and_exits_6(workspace, monkeypatch, capsys):
    monkeypatch.chdir(workspace)
    assert main(["exercise", "check"]) == 6
    out = capsys.readouterr().out
    assert out.count("not started") == 9 and "Traceback" not in out
    assert "next: exercise 1" in out


def test_check_of_a_mistake_prints_what_and_why(workspace, capsys):
    mine = workspace / "mynn.py"
    mine.write_text(
        reference_source().replace(
            "self.b.grad += grad_output.sum(axis=0)", "self.b.grad = self.b.grad + grad_output"
        )
    )
    assert main(["exercise", "check", "6", str(mine)]) == 6
    out = capsys.readouterr().out
    assert "ok    Linear.forward: X @ W + b" in out
    assert "FAIL  Linear.backward: dW, db, dx against finite differences" in out
    assert "db has shape (5, 3), expected (3,): sum the gradient over the batch" in out
    assert "exercise 6: 4 of 5 tests pass; stuck? scratchtui exercise hint 6" in out


def test_check_passes_the_reference_with_status_0(workspace, capsys):
    mine = workspace / "mynn.py"
    mine.write_text(reference_source())
    assert main(["exercise", "check", str(mine)]) == 0
    assert "all 9 exercises pass" in capsys.readouterr().out


def test_a_file_that_does_not_import_exits_4_with_its_own_line(workspace, capsys):
    mine = workspace / "mynn.py"
    mine.write_text("import numpy as np\n\nx = 1\nraise ValueError('oops')\n")
    assert main(["exercise", "check", "1", str(mine)]) == 4
    err = capsys.readouterr().err
    assert "line 4" in err and "ValueError: oops" in err and "grader.py" not in err


@pytest.mark.parametrize(
    "argv",
    [["check", "10"], ["check", "1", "a.py", "b.py"], ["check", "1", "missing.py"], ["hint", "0"]],
)
def test_usage_errors_exit_2(workspace, capsys, argv):
    assert main(["exercise", *argv]) == 2
    assert "error:" in capsys.readouterr().err


@pytest.mark.parametrize("number", range(1, 10))
def test_a_hint_gives_no_line_of_the_solution_away(capsys, number):
    assert main(["exercise", "hint", str(number)]) == 0
    hint = " ".join(capsys.readouterr().out.split())
    assert main(["exercise", "solution", str(number)]) == 0
    code = [
        line.strip()
        for line in capsys.readouterr().out.splitlines()
        if len(line.strip()) > 12 and not line.strip().startswith(("def ", "class ", '"""'))
    ]
    assert code and not [line for line in code if line in hint]


def test_hint_and_solution(capsys):
    assert main(["exercise", "hint", "3"]) == 0
    assert "id()" in capsys.readouterr().out
    assert main(["exercise", "solution", "3"]) == 0
    solution = capsys.readouterr().out
    assert "def named_parameters" in solution and "seen.add(id(param))" in solution
    assert "def state_dict" not in solution  # exercise 4's


def test_run_puts_the_learners_layers_in_the_debugger(workspace, capsys):
    mine = workspace / "mynn.py"
    mine.write_text(reference_source())
    assert main(["exercise", "run", str(mine), "--flow"]) == 0
    out = capsys.readouterr().out
    assert "Linear(128 → 64)" in out and "max(0, x)" in out and "softmax + cross-entropy" in out


def test_run_on_stubs_says_which_exercises_to_finish(workspace, capsys):
    assert main(["exercise", "run", str(workspace / "mynn.py"), "--flow"]) == 4
    assert "scratchtui exercise check 6 and 7" in capsys.readouterr().err
