"""``Stepper(checkpoint_names="torch")``: checkpoints in PyTorch's names (no torch needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scratchai as sa
from scratchai.engine import Stepper, load_demo
from scratchai.interop import InteropError
from scratchai.serialization import load_metadata


def test_torch_names_transposed_weights_and_the_pt_format_tag(tmp_path: Path) -> None:
    sa.manual_seed(0)
    with Stepper(load_demo("batchnorm"), checkpoint_names="torch") as stepper:
        path = stepper.views.save_checkpoint(tmp_path / "bn.safetensors")
        state = sa.load(path)
        model = stepper.model
    where, first = next((p, m) for p, m in model.named_modules() if isinstance(m, sa.Linear))
    assert not any(k.endswith((".W", ".b", ".gamma", ".beta")) for k in state)
    assert np.array_equal(state[f"{where}.weight"], first.W.data.T)
    assert any(k.endswith("running_var") for k in state)
    assert load_metadata(path)["format"] == "pt"


def test_scratchai_names_stay_the_default(tmp_path: Path) -> None:
    with Stepper(load_demo("mlp")) as stepper:
        state = sa.load(stepper.views.save_checkpoint(tmp_path / "m.safetensors"))
    assert set(state) == {"0.W", "0.b", "2.W", "2.b"}


def test_the_two_namings_of_one_step_get_different_files() -> None:
    with (
        Stepper(load_demo("mlp")) as plain,
        Stepper(load_demo("mlp"), checkpoint_names="torch") as torch_named,
    ):
        assert plain.views.checkpoint_name() == "mlp-step0.safetensors"
        assert torch_named.views.checkpoint_name() == "mlp-step0-torch.safetensors"


def test_a_model_torch_cannot_name_is_refused_when_the_stepper_is_made() -> None:
    class Scale(sa.Module):
        def __init__(self) -> None:
            super().__init__()
            self.s = sa.Parameter(np.ones(10, np.float32))

        def forward(self, x: np.ndarray) -> np.ndarray:
            return x * self.s.data

    experiment = load_demo("mlp")
    experiment.model.append(Scale())
    with pytest.raises(InteropError, match=r"module '3' is a .*Scale"):
        Stepper(experiment, checkpoint_names="torch")
    with pytest.raises(ValueError, match="checkpoint_names must be one of"):
        Stepper(load_demo("mlp"), checkpoint_names="keras")
