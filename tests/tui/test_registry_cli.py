"""``scratchtui demo NAME --registry`` / ``run FILE --registry`` print the registry log of
build() and exit 0 (4 when the file does not build)."""

from __future__ import annotations

from scratchtui.cli import main


def test_demo_shared_registry_names_the_three_dictionaries_and_the_tie(capsys):
    assert main(["demo", "shared", "--registry"]) == 0
    out = capsys.readouterr().out
    assert "The registry log of demo shared: 11 registrations while build() ran" in out
    assert "1  model.branch_a (Linear)._parameters['W'] = Parameter (64, 32) float32" in out
    assert "scratchai/layers.py:35" in out or "scratchai/layers.py:" in out
    assert "model (TwoBranchNet)._modules['branch_a'] = Linear(in_features=64" in out
    assert "shared.py:21  self.branch_b.W = self.branch_a.W" in out
    assert "the same object as #1 (model.branch_a.W): a shared weight, counted once" in out
    assert "the model holds 5 Parameters (1 shared), 2,762 numbers each counted once" in out


def test_demo_batchnorm_registry_lists_its_buffers(capsys):
    assert main(["demo", "batchnorm", "--registry"]) == 0
    out = capsys.readouterr().out
    assert "model.1 (BatchNorm1d)._buffers['running_mean'] = array (64,) float32" in out


def test_run_file_registry_and_a_broken_file(tmp_path, capsys):
    good = tmp_path / "copy_not_tie.py"
    good.write_text(
        "import scratchai as sa\n"
        "from scratchai.datasets import make_clusters\n"
        "from scratchai.engine import Experiment\n\n\n"
        "def build():\n"
        "    data = make_clusters(n_samples=64, num_features=4, num_classes=2, seed=0)\n"
        "    model = sa.Sequential(sa.Linear(4, 4), sa.Linear(4, 2))\n"
        "    model[1].W = sa.Parameter(model[0].W.data[:, :2].copy())\n"
        "    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),\n"
        "                      sa.DataLoader(data, batch_size=16))\n"
    )
    assert main(["run", str(good), "--registry"]) == 0
    out = capsys.readouterr().out
    assert "copy_not_tie.py:9  model[1].W = sa.Parameter(" in out
    bad = tmp_path / "bad.py"
    bad.write_text("def build():\n    raise RuntimeError('no')\n")
    assert main(["run", str(bad), "--registry"]) == 4
    assert "RuntimeError: no" in capsys.readouterr().err
