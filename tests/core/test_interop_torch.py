"""scratchai <-> PyTorch: the same outputs and gradients after conversion (float32 tolerance), a
bit-exact round trip, ties kept as one tensor / one Parameter, state dicts both ways."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import scratchai as sa
from scratchai.interop import (
    InteropError,
    from_torch,
    state_from_torch,
    state_to_torch,
    to_torch,
    torch_state_dict,
)

torch = pytest.importorskip(
    "torch", reason="PyTorch is not installed (pip install '.[torch]'; the test extra has it)"
)
RTOL, ATOL = 1e-5, 1e-6  # float32: the two frameworks sum in different orders


def lesson_mlp() -> sa.Module:
    return sa.Sequential(sa.Linear(128, 64), sa.ReLU(), sa.Linear(64, 10))


def batchnorm_mlp() -> sa.Module:
    return sa.Sequential(
        sa.Linear(20, 32), sa.BatchNorm1d(32), sa.Tanh(), sa.Dropout(0.0), sa.Linear(32, 5)
    )


def tied_model() -> sa.Module:
    """A weight shared by two layers, and one module used twice."""
    a, b = sa.Linear(16, 16), sa.Linear(16, 16)
    b.W = a.W
    twice = sa.Linear(16, 16, bias=False)
    return sa.Sequential(a, sa.Sigmoid(), b, sa.ReLU(), twice, sa.Tanh(), twice, sa.Linear(16, 4))


MODELS = {
    "lesson_mlp": (lesson_mlp, 128),
    "batchnorm": (batchnorm_mlp, 20),
    "tied": (tied_model, 16),
}


def scratchai_step(model: sa.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    loss_fn = sa.CrossEntropyLoss()
    model.zero_grad()
    logits = model(x)
    loss = loss_fn(logits, y)
    model.backward(loss_fn.backward())
    return loss, logits


def torch_step(module: torch.nn.Module, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    module.zero_grad()
    logits = module(torch.from_numpy(x))
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
    loss.backward()
    return float(loss.detach()), logits.detach().numpy()


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_same_outputs_and_gradients_after_conversion(name: str, mode: str) -> None:
    build, features = MODELS[name]
    sa.manual_seed(0)
    model = build()
    model.train(mode == "train")
    module = to_torch(model)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, features)).astype(np.float32)
    y = (np.arange(32) % 4).astype(np.int64)
    loss, logits = scratchai_step(model, x, y)
    torch_loss, torch_logits = torch_step(module, x, y)
    np.testing.assert_allclose(logits, torch_logits, rtol=RTOL, atol=ATOL)
    assert loss == pytest.approx(torch_loss, rel=1e-5)
    grads = {name: p.grad for name, p in model.named_parameters()}
    torch_grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    assert len(grads) == len(torch_grads)  # each shared weight once on both sides
    for key, (torch_key, transposed) in _layout(model).items():
        if key in grads:
            expected = torch_grads[torch_key].T if transposed else torch_grads[torch_key]
            np.testing.assert_allclose(grads[key], expected, rtol=1e-4, atol=1e-6, err_msg=key)
    for key, value in state_to_torch(model).items():  # BatchNorm's running statistics too
        np.testing.assert_allclose(value, module.state_dict()[key].numpy(), rtol=RTOL, atol=ATOL)


def _layout(model: sa.Module) -> dict[str, tuple[str, bool]]:
    from scratchai.interop import torch_key_layout

    return {k: tuple(v) for k, v in torch_key_layout(model).items()}  # type: ignore[misc]


@pytest.mark.parametrize("name", MODELS)
def test_round_trip_is_bit_exact(name: str) -> None:
    model = MODELS[name][0]()
    model.eval()
    back = from_torch(to_torch(model))
    before, after = model.state_dict(), back.state_dict()
    assert list(after) == list(before)
    for key in before:
        assert after[key].dtype == before[key].dtype
        assert np.array_equal(after[key], before[key]), key
    assert repr(back) == repr(model) and not back.training
    x = np.random.default_rng(2).standard_normal((8, MODELS[name][1])).astype(np.float32)
    assert np.array_equal(back(x), model(x))


def test_ties_stay_one_parameter_and_one_module() -> None:
    model = tied_model()
    module = to_torch(model)
    assert module[2].weight is module[0].weight and module[4] is module[6]
    assert len(list(module.parameters())) == len(list(model.parameters()))
    back = from_torch(module)
    assert back[2].W is back[0].W and back[4] is back[6]
    assert back.num_parameters() == model.num_parameters()


def test_state_dicts_both_ways_keep_ties_and_load_strictly() -> None:
    model = tied_model()
    module = to_torch(tied_model())  # other weights
    state = torch_state_dict(model)
    assert state["2.weight"] is state["0.weight"]  # one tensor for the tie
    assert module.load_state_dict(state).missing_keys == []
    assert module[2].weight is module[0].weight
    assert torch.equal(module[0].weight, torch.from_numpy(model[0].W.data.T.copy()))
    # and back: the torch state (with BatchNorm's num_batches_tracked) into a scratchai model
    other = tied_model()
    converted = state_from_torch(other, module.state_dict())
    assert converted["2.W"] is converted["0.W"]
    assert other.load_state_dict(converted) == ([], [])
    assert other[2].W is other[0].W and np.array_equal(other[0].W.data, model[0].W.data)
    bn = batchnorm_mlp()
    assert bn.load_state_dict(state_from_torch(bn, to_torch(bn).state_dict())) == ([], [])


def test_torch_named_checkpoint_loads_into_the_torch_model(tmp_path: Path) -> None:
    """What `--checkpoint-names torch` writes: safetensors.torch and load_state_dict read it."""
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = batchnorm_mlp()
    sa.save(state_to_torch(model), tmp_path / "m.safetensors", metadata={"format": "pt"})
    module = to_torch(batchnorm_mlp())
    module.load_state_dict(safetensors_torch.load_file(tmp_path / "m.safetensors"))
    assert torch.equal(module[0].weight, torch.from_numpy(model[0].W.data.T.copy()))


def test_a_users_module_is_refused_by_path_and_type() -> None:
    class Mine(sa.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = sa.Parameter(np.ones(3, np.float32))

    model = sa.ModuleDict({"body": sa.Sequential(sa.Linear(3, 3), Mine())})
    with pytest.raises(InteropError, match=r"module 'body\.1' is a .*Mine"):
        to_torch(model)
    with pytest.raises(InteropError, match=r"module 'body\.1' is a .*Mine"):
        state_to_torch(model)
    with pytest.raises(InteropError, match=r"module '1' is a .*Bilinear"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Bilinear(2, 2, 2)))


def test_containers_and_names_survive_both_ways() -> None:
    model = sa.ModuleDict(
        {
            "enc": sa.Sequential(OrderedDict(fc=sa.Linear(4, 3), act=sa.ReLU())),
            "heads": sa.ModuleList([sa.Linear(3, 2), sa.Linear(3, 1, bias=False)]),
        }
    )
    module = to_torch(model)
    assert isinstance(module, torch.nn.ModuleDict) and isinstance(
        module["heads"], torch.nn.ModuleList
    )
    assert sorted(module.state_dict()) == sorted(state_to_torch(model))
    assert list(from_torch(module).state_dict()) == list(model.state_dict())


def test_conversion_draws_from_no_generator() -> None:
    model = batchnorm_mlp()
    module = to_torch(model)
    sa.manual_seed(3)
    torch.manual_seed(3)
    expected, torch_expected = sa.get_rng().random(), torch.rand(1)
    sa.manual_seed(3)
    torch.manual_seed(3)
    to_torch(model)
    from_torch(module)
    assert sa.get_rng().random() == expected
    assert torch.equal(torch.rand(1), torch_expected)
