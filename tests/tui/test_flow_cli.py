"""``--flow`` prints the flowchart after one batch and exits, for the demos and for models that
are not a plain chain (a residual sum, a module called twice, a tied weight)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scratchai.engine import list_demos

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "tests" / "models" / "flow_models.py"


def flow(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scratchtui.cli", *args, "--flow"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT), "COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )


def model_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}_model.py"
    path.write_text(MODELS.read_text() + f"\n\nbuild = build_{name}\n")
    return path


@pytest.mark.parametrize("name", [name for name, _ in list_demos()])
def test_every_demo_prints_its_flow(name, tmp_path):
    result = flow("demo", name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Data flow through" in out and "Input X" in out and "X @ W + b" in out
    assert "softmax + cross-entropy" in out and "scalar" in out and "loss " in out
    assert "mean " in out and "std " in out  # the batch's numbers under each node


def test_the_mlp_flow_has_the_lessons_strings(tmp_path):
    out = flow("demo", "mlp", cwd=tmp_path).stdout
    for expected in (
        "Input X  shape: (batch, 128)",
        "Linear(128 → 64)",
        "W:(128,64)  b:(64,)  128 weights/neuron",
        "max(0, x)  element-wise",
        "Linear(64 → 10)",
        "W:(64,10)  b:(10,)  64 weights/neuron",
        "Logits out  shape: (batch, 10)",
    ):
        assert expected in out, expected
    assert out.index("Linear(128 → 64)") < out.index("max(0, x)") < out.index("Linear(64 → 10)")


def test_the_shared_demo_draws_its_weight_once(tmp_path):
    out = flow("demo", "shared", cwd=tmp_path).stdout
    assert "W:(64,32) <-> branch_b.W" in out and "W <-> branch_a.W" in out


def test_a_residual_model(tmp_path):
    result = flow("run", str(model_file(tmp_path, "residual")), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "┌ block  Residual  x + f(x)" in out and "└ block  x + f(x)" in out
    assert "tanh(x)" in out and "Linear(16 → 16)  block.f.0" in out


def test_a_module_called_twice(tmp_path):
    out = flow("run", str(model_file(tmp_path, "twice")), cwd=tmp_path).stdout
    assert "block  call 1 of 2" in out and "block  call 2 of 2" in out
    assert out.count("sum of 2 calls)") == 2 and "(this call " in out  # |grad| is both calls'
    assert "Scale  scale" in out  # a user's module without a formula: its class and shapes


def test_a_tied_weight(tmp_path):
    out = flow("run", str(model_file(tmp_path, "tied")), cwd=tmp_path).stdout
    assert "W:(16,16) <-> 4.W" in out and "W <-> 2.W" in out


def test_a_failing_step_exits_4(tmp_path):
    path = tmp_path / "bad_model.py"
    path.write_text(
        MODELS.read_text()
        + "\n\nclass Bad(Scale):\n    def forward(self, x):\n        raise ValueError('oops')\n"
        + "\n\ndef build():\n    return _experiment(sa.Sequential(sa.Linear(8, 3), Bad()), 'bad')\n"
    )
    result = flow("run", str(path), cwd=tmp_path)
    assert result.returncode == 4 and "oops" in result.stderr


def test_an_input_made_in_a_forward_says_so(tmp_path):
    out = flow("demo", "shared", cwd=tmp_path).stdout
    assert out.count("(batch, 64)  made in TwoBranchNet.forward") == 3  # slices, concatenation
    out = flow("run", str(model_file(tmp_path, "residual")), cwd=tmp_path).stdout
    assert "(batch, 16)  made in Residual.forward" in out  # x + f(x)
