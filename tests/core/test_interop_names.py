"""scratchai.interop without PyTorch: importing it loads no torch, and the state-dict converters
(NumPy only) rename, transpose and keep ties."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import scratchai as sa
from scratchai.interop import state_from_torch, state_to_torch, torch_key_layout


def test_importing_interop_loads_no_torch() -> None:
    code = "import sys, scratchai.interop; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"


def test_names_layouts_and_ties_without_torch() -> None:
    a, b = sa.Linear(4, 4), sa.Linear(4, 4, bias=False)
    b.W = a.W
    model = sa.Sequential(a, sa.BatchNorm1d(4), sa.Tanh(), b)
    layout = torch_key_layout(model)
    assert layout["0.W"] == ("0.weight", True) and layout["1.gamma"] == ("1.weight", False)
    state = state_to_torch(model)
    assert list(state) == [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "3.weight",
    ]
    assert state["3.weight"] is state["0.weight"]  # the tie: one array
    assert np.array_equal(state["0.weight"], a.W.data.T) and state["0.weight"].flags.c_contiguous
    torch_like = {**state, "1.num_batches_tracked": np.array(7)}  # what torch adds
    back = state_from_torch(model, torch_like)
    assert back["3.W"] is back["0.W"] and "1.num_batches_tracked" not in back
    other = sa.Sequential(sa.Linear(4, 4), sa.BatchNorm1d(4), sa.Tanh(), sa.Linear(4, 4, False))
    other[3].W = other[0].W
    assert other.load_state_dict(back) == ([], [])
    assert np.array_equal(other[0].W.data, a.W.data) and other[3].W is other[0].W


def test_unknown_torch_keys_reach_load_state_dict_as_unexpected() -> None:
    model = sa.Sequential(sa.Linear(2, 2))
    state = {**state_to_torch(model), "9.weight": np.zeros((2, 2), np.float32)}
    missing, unexpected = model.load_state_dict(state_from_torch(model, state), strict=False)
    assert (missing, unexpected) == ([], ["9.weight"])
