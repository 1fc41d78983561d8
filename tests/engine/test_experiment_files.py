"""The experiment contract: a user's file with build(), and the errors a user's mistakes give."""

import subprocess
import sys
import textwrap

import pytest

from scratchai.engine import Experiment, ExperimentError, list_demos, load_experiment_file

GOOD = """
import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment

def build():
    data = make_clusters(n_samples=200, num_features=8, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(8, 16), sa.Tanh(), sa.Linear(16, 3))
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name="mine")
"""


def write(tmp_path, text, name="my_model.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_demos_are_listed_with_descriptions():
    names = [name for name, _ in list_demos()]
    assert names == sorted(["batchnorm", "digits", "diverge", "mlp", "shared"])
    assert all(description for _, description in list_demos())


def test_user_file_loads(tmp_path):
    experiment = load_experiment_file(write(tmp_path, GOOD))
    assert isinstance(experiment, Experiment) and experiment.name == "mine"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("def build(:\n    pass\n", ":1: syntax error"),
        ("import no_such_module_xyz\n", "ModuleNotFoundError"),
        ("x = 1\n", "defines no build() function"),
        ("def build():\n    return 42\n", "build() returned int"),
        ("def build():\n    raise RuntimeError('boom here')\n", "line 2, in build"),
    ],
)
def test_user_file_errors_point_at_the_users_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ExperimentError) as info:
        load_experiment_file(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(ExperimentError, match="no such file"):
        load_experiment_file(tmp_path / "nope.py")


def run_cli(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "scratchtui.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_headless_demo_runs_and_prints_the_layer_table(tmp_path):
    result = run_cli("demo", "mlp", "--headless", "--steps", "60", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "layers after step 60" in result.stdout
    assert "Linear" in result.stdout and "ReLU" in result.stdout


@pytest.mark.parametrize("name", [name for name, _ in list_demos()])
def test_every_demo_trains_300_steps_headless(name, tmp_path):
    result = run_cli("demo", name, "--headless", "--steps", "300", cwd=tmp_path)
    expected = 3 if name == "diverge" else 0  # the divergence status
    assert result.returncode == expected, result.stdout + result.stderr
    assert ("state: diverged" in result.stdout) == (name == "diverge")


def test_headless_user_file_error_exits_4(tmp_path):
    path = write(tmp_path, "def build():\n    return 42\n")
    result = run_cli("run", str(path), "--headless", cwd=tmp_path)
    assert result.returncode == 4
    assert "build() returned int" in result.stderr


def test_headless_user_model_raising_in_forward_exits_4(tmp_path):
    text = GOOD.replace(
        "    model = sa.Sequential",
        "    class Boom(sa.Module):\n"
        "        def forward(self, x):\n"
        "            raise ValueError('user bug in forward')\n"
        "    model = sa.Sequential",
    ).replace("sa.Tanh()", "Boom()")
    result = run_cli("run", str(write(tmp_path, text)), "--headless", cwd=tmp_path)
    assert result.returncode == 4
    assert "user bug in forward" in result.stderr
    assert "step 1 failed during forward of module '1' (Boom)" in result.stderr
    # piped to a file, a long traceback line is not cut in two
    assert any("my_model.py" in line and "line" in line for line in result.stderr.splitlines())


def test_a_directory_given_as_the_model_file_is_called_one(tmp_path):
    (tmp_path / "models").mkdir()
    result = run_cli("run", "models", "--headless", cwd=tmp_path)
    assert result.returncode == 2
    assert "models is a directory, not a model file" in result.stderr


def test_the_seed_covers_numpys_global_generator_too(tmp_path):
    """A learner's Dropout on np.random: two launches with one --seed train the same."""
    text = "import numpy as np\n" + GOOD.replace(
        "    model = sa.Sequential",
        "    class Drop(sa.Module):\n"
        "        def forward(self, x):\n"
        "            self.mask = np.random.rand(*x.shape) > 0.5\n"
        "            return x * self.mask\n"
        "        def backward(self, g):\n"
        "            return g * self.mask\n"
        "    model = sa.Sequential",
    ).replace("sa.Tanh()", "Drop()")
    path = write(tmp_path, text)
    runs = [
        run_cli("run", str(path), "--headless", "--steps", "5", "--seed", "3", cwd=tmp_path)
        for _ in range(2)
    ]
    tables = [r.stdout[r.stdout.index("layers after step") :] for r in runs]
    assert runs[0].returncode == 0 and tables[0] == tables[1]


def test_demo_list(tmp_path):
    result = run_cli("demo", "--list", cwd=tmp_path)
    assert result.returncode == 0 and "digits" in result.stdout


def test_usage_errors_exit_2_on_stderr(tmp_path):
    result = run_cli("demo", "nope", "--headless", cwd=tmp_path)
    assert result.returncode == 2 and "no demo named 'nope'" in result.stderr
    assert "mlp" in result.stderr and result.stdout == ""
    result = run_cli("run", "missing.py", "--headless", cwd=tmp_path)
    assert result.returncode == 2 and "no such file" in result.stderr


def test_demo_show_prints_a_template_that_runs(tmp_path):
    result = run_cli("demo", "mlp", "--show", cwd=tmp_path)
    assert result.returncode == 0 and "def build()" in result.stdout
    (tmp_path / "mine.py").write_text(result.stdout)
    run = run_cli("run", "mine.py", "--headless", "--steps", "5", cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_step_failure_without_snapshots_leaves_no_half_batch_behind(tmp_path, closing):
    from scratchai.engine import Granularity, Settings, State, StepFailed, Stepper

    text = GOOD.replace(
        "    model = sa.Sequential",
        "    class Boom(sa.Module):\n"
        "        def forward(self, x):\n"
        "            raise ValueError('boom')\n"
        "    model = sa.Sequential",
    ).replace("sa.Linear(16, 3)", "sa.Linear(16, 3), Boom()")
    stepper = closing(Stepper(load_experiment_file(write(tmp_path, text)), Settings(rewind=False)))
    stepper.advance(Granularity.PHASE)  # registered
    for _ in range(3):  # into the forward, layer by layer, up to the one that raises
        stepper.advance(Granularity.LAYER)
    assert stepper.mid_batch and stepper.layer_events
    with pytest.raises(StepFailed) as info:
        stepper.advance(Granularity.LAYER)
    assert info.value.module == "3"
    assert stepper.state is State.REGISTERED and not stepper.mid_batch
    assert stepper.layer_events == () and stepper.batch_loss is None
    assert stepper.active_path is None


def test_step_failure_restores_the_last_good_step_and_shows_the_users_line(tmp_path, closing):
    from scratchai.engine import Granularity, Settings, StepFailed, Stepper

    text = GOOD.replace(
        "    model = sa.Sequential",
        "    class Flaky(sa.Module):\n"
        "        calls = 0\n"
        "        def forward(self, x):\n"
        "            Flaky.calls += 1\n"
        "            if Flaky.calls == 3:\n"
        "                raise ValueError('user bug on call 3')\n"
        "            self.save_for_backward(None)\n"
        "            return x\n"
        "        def backward(self, g):\n"
        "            self.saved_for_backward()\n"
        "            return g\n"
        "    model = sa.Sequential",
    ).replace("sa.Tanh()", "Flaky()")
    # Flaky counts calls of its class: the backward check's extra forwards would count too
    settings = Settings(backward_check_first=False)
    stepper = closing(Stepper(load_experiment_file(write(tmp_path, text)), settings))
    stepper.run(max_steps=2)
    weights = {k: v.copy() for k, v in stepper.model.state_dict().items()}
    with pytest.raises(StepFailed) as info:
        stepper.advance(Granularity.BATCH)
    failure = info.value
    assert failure.phase == "forward" and "user bug on call 3" in failure.summary
    assert failure.module == "1" and failure.place == "forward of module '1' (Flaky)"
    assert "my_model.py" in failure.traceback_text and "stepper.py" not in failure.traceback_text
    assert stepper.step == 2
    for key, value in stepper.model.state_dict().items():
        assert (value == weights[key]).all()
    stepper.advance(Granularity.BATCH)  # the stepper still works afterwards
    assert stepper.step == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("import sys\nsys.exit(3)\n", "importing the file called sys.exit(3)"),
        ("def build():\n    raise SystemExit(0)\n", "build() called sys.exit(0)"),
        ("def build():\n    raise KeyboardInterrupt\n", "build() was interrupted"),
    ],
)
def test_an_exit_in_the_users_file_is_an_error_not_a_success(tmp_path, text, expected):
    with pytest.raises(ExperimentError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_experiment_file(write(tmp_path, text))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("optimizer", None, "optimizer=None: expected an optimizer over the model's parameters"),
        ("train_loader", None, "train_loader=None: expected a sa.DataLoader"),
        ("train_loader", [1, 2], "train_loader=<list>: expected a sa.DataLoader"),
        ("model", "mlp", "model='mlp': expected a scratchai Module"),
        ("val_data", 3, "val_data=3: expected None or a dataset"),
    ],
)
def test_experiment_fields_are_checked_when_it_is_made(tmp_path, field, value, expected):
    good = load_experiment_file(write(tmp_path, GOOD))
    fields = {
        "model": good.model,
        "loss": good.loss,
        "optimizer": good.optimizer,
        "train_loader": good.train_loader,
        field: value,
    }
    with pytest.raises(TypeError, match="Experiment refused") as info:
        Experiment(**fields)
    assert expected in str(info.value)


def test_a_bad_field_in_build_is_reported_with_the_users_line(tmp_path):
    text = GOOD.replace("sa.SGD(model.parameters(), lr=0.1)", "None")
    with pytest.raises(ExperimentError, match=r"build\(\) raised TypeError") as info:
        load_experiment_file(write(tmp_path, text))
    assert "optimizer=None" in str(info.value)


def _trap_file(tmp_path, action: str):
    """A user file whose module runs ``action`` in its forward from the 10th call on (counted
    on the instance: the backward check's extra forwards before the first step run on a copy)."""
    text = GOOD.replace(
        "    model = sa.Sequential",
        "    class Trap(sa.Module):\n"
        "        calls = 0\n"
        "        def forward(self, x):\n"
        "            self.calls += 1\n"
        "            if self.calls >= 10:\n"
        f"                {action}\n"
        "            return x\n"
        "        def backward(self, g):\n"
        "            return g\n"
        "    model = sa.Sequential",
    ).replace("sa.Tanh()", "Trap()")
    return write(tmp_path, "import os, sys, time\n" + text)


def test_headless_sys_exit_0_in_forward_is_a_failure_not_a_success(tmp_path):
    result = run_cli("run", str(_trap_file(tmp_path, "sys.exit(0)")), "--headless", cwd=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "step 10 failed during forward of module '1' (Trap)" in result.stderr
    assert "sys.exit(0)" in result.stderr and "left at step 9" in result.stderr


def test_os_exit_in_forward_is_a_failed_step_headless_too(tmp_path):
    """``os._exit`` skips every ``finally``: without the guard the process would just end
    with the user's status and no word said."""
    result = run_cli("run", str(_trap_file(tmp_path, "os._exit(7)")), "--headless", cwd=tmp_path)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "the code called os._exit(7)" in result.stderr
    assert "module '1' (Trap)" in result.stderr


def test_os_exit_in_the_checks_is_a_failed_check(tmp_path):
    result = run_cli("check", str(_trap_file(tmp_path, "os._exit(7)")), cwd=tmp_path)
    assert result.returncode == 5, result.stdout + result.stderr
    assert "the code called os._exit(7)" in result.stdout


def test_a_keyboard_interrupt_raised_by_the_code_is_a_failed_step_or_check(tmp_path):
    """Raised by the user's forward, not sent by a ctrl+c: the step fails (exit 4) and the
    checks say which one met it (exit 5), never a raw traceback or the interrupt status."""
    path = _trap_file(tmp_path, "raise KeyboardInterrupt")
    run = run_cli("run", str(path), "--headless", cwd=tmp_path)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "the code raised KeyboardInterrupt()" in run.stderr and "left at step 9" in run.stderr
    check = run_cli("check", str(path), cwd=tmp_path)
    assert check.returncode == 5, check.stdout + check.stderr
    assert "FAIL" in check.stdout and "the code raised KeyboardInterrupt()" in check.stdout
    assert "Traceback" not in check.stderr


def test_ctrl_c_stops_the_checks(tmp_path):
    import signal
    import time

    path = _trap_file(tmp_path, "time.sleep(0.05)")  # the checks' many forwards grow slow
    process = subprocess.Popen(
        [sys.executable, "-m", "scratchtui.cli", "check", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(3.0)  # imports, then the slow checks
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "interrupted: the checks stopped" in err and "Traceback" not in err


def test_headless_ctrl_c_stops_with_a_short_summary(tmp_path):
    import signal

    path = _trap_file(tmp_path, "time.sleep(0.05)")  # slow from step 10: time to press ctrl+c
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scratchtui.cli",
            "run",
            str(path),
            "--headless",
            "--steps",
            "10000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    import time

    time.sleep(3.0)  # imports, then some slow steps
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, out + err
    assert "interrupted: training stopped at step" in err
    assert "Traceback" not in err and len(err.splitlines()) <= 3


def test_a_module_next_to_the_file_can_be_imported(tmp_path):
    (tmp_path / "my_layers_xyz.py").write_text(
        "import scratchai as sa\n\ndef head():\n    return sa.Linear(16, 3)\n"
    )
    text = "from my_layers_xyz import head\n" + GOOD.replace("sa.Linear(16, 3)", "head()")
    experiment = load_experiment_file(write(tmp_path, text))
    assert experiment.model[2].W.shape == (16, 3)


def test_cli_version_and_options_that_need_headless(tmp_path):
    result = run_cli("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("scratchtui ")
    result = run_cli("demo", "mlp", "--steps", "5", cwd=tmp_path)
    assert result.returncode == 2 and "--headless" in result.stderr


def test_the_app_without_a_terminal_exits_2_at_once(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "scratchtui.cli", "demo", "mlp"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2 and "needs a terminal" in result.stderr


def test_headless_export(tmp_path):
    result = run_cli(
        "demo", "mlp", "--headless", "--steps", "30", "--export", "out/run.json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    import json

    steps = json.loads((tmp_path / "out" / "run.json").read_text())["steps"]
    assert steps["step"][-1] == 30.0


def test_headless_no_breakpoints_trains_past_convergence(tmp_path):
    paused = run_cli("demo", "mlp", "--headless", "--steps", "600", cwd=tmp_path)
    assert "stopped: converged" in paused.stdout and "after 451 steps" in paused.stdout
    result = run_cli(
        "demo", "mlp", "--headless", "--steps", "600", "--no-breakpoints", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "stopped" not in result.stdout and "after 600 steps" in result.stdout
    assert "converged" in result.stdout  # the warning still prints
    refused = run_cli("demo", "mlp", "--no-breakpoints", cwd=tmp_path)
    assert refused.returncode == 2 and "apply to --headless runs" in refused.stderr


def test_an_autoencoder_trains_with_mse_and_cross_entropy_asks_for_labels(closing):
    import numpy as np

    import scratchai as sa
    from scratchai.engine import Stepper

    sa.manual_seed(0)
    X = np.random.default_rng(0).standard_normal((64, 6)).astype(np.float32)
    data = sa.ArrayDataset(X, X)
    model = sa.Sequential(sa.Linear(6, 3), sa.Tanh(), sa.Linear(3, 6))
    experiment = Experiment(
        model, sa.MSELoss(), sa.SGD(model.parameters(), lr=0.1), sa.DataLoader(data, 16), data
    )
    stepper = closing(Stepper(experiment))
    first = stepper.advance().last_step
    stepper.run(max_steps=100)
    assert first.accuracy is None and stepper.last_step.loss < first.loss
    assert stepper.epochs[-1].val_loss is not None and stepper.epochs[-1].val_accuracy is None
    with pytest.raises(TypeError, match=r"CrossEntropyLoss needs integer class labels.*argmax"):
        Experiment(model, sa.CrossEntropyLoss(), experiment.optimizer, sa.DataLoader(data, 16))


def test_reload_picks_up_edits_to_the_file_and_its_siblings(tmp_path):
    from scratchai.engine import reload_experiment_file

    sibling = tmp_path / "my_width_abc.py"
    sibling.write_text("WIDTH = 16\n")
    text = "from my_width_abc import WIDTH\n" + GOOD.replace("16", "WIDTH")
    path = write(tmp_path, text)
    assert load_experiment_file(path).model[0].W.shape == (8, 16)
    sibling.write_text("WIDTH = 24\n")
    path.write_text(path.read_text().replace('name="mine"', 'name="edited"'))
    again = reload_experiment_file(path)
    assert again.model[0].W.shape == (8, 24) and again.name == "edited"
    path.write_text("def build(:\n")
    with pytest.raises(ExperimentError, match="syntax error"):
        reload_experiment_file(path)
