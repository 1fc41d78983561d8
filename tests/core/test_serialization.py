"""Checkpoints: safetensors round trips, ties, foreign readers, refused files, atomic writes."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import scratchai as sa
from scratchai import BatchNorm1d, CheckpointError, Linear, Module, Sequential, serialization
from scratchai.serialization import load_metadata


class Tied(Module):
    """Two Linears sharing one weight, plus the first registered a second time."""

    def __init__(self) -> None:
        super().__init__()
        self.a = Linear(4, 4)
        self.b = Linear(4, 4)
        self.b.W = self.a.W
        self.again = self.a


def test_state_dict_round_trip_is_exact(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    state = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal(5),
        "f16": rng.standard_normal(2).astype(np.float16),
        "i64": np.arange(6, dtype=np.int64).reshape(2, 3),
        "u8": np.array([0, 255], np.uint8),
        "flag": np.array([True, False]),
        "scalar": np.array(3.5, np.float32),
        "empty": np.zeros((0, 3), np.float32),
        "transposed": np.arange(12, dtype=np.float32).reshape(3, 4).T,  # not C-contiguous
        "big_endian": np.arange(3, dtype=">f8"),
    }
    path = tmp_path / "state.safetensors"
    sa.save(state, path)
    loaded = sa.load(path)
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert loaded[key].shape == value.shape, key
        assert loaded[key].dtype == value.dtype.newbyteorder("="), key
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].flags.writeable


def test_model_round_trip_into_a_fresh_model(tmp_path: Path) -> None:
    sa.manual_seed(0)
    model = Sequential(Linear(8, 6), BatchNorm1d(6), Linear(6, 3, dtype=np.float64))
    model[1].running_mean[...] = 0.25
    path = tmp_path / "model.safetensors"
    sa.save(model, path)
    sa.manual_seed(1)
    fresh = Sequential(Linear(8, 6), BatchNorm1d(6), Linear(6, 3, dtype=np.float64))
    fresh.load_state_dict(sa.load(path))
    for (key, want), (key2, got) in zip(
        model.state_dict().items(), fresh.state_dict().items(), strict=True
    ):
        assert key == key2
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_tied_weights_stay_tied(tmp_path: Path) -> None:
    sa.manual_seed(0)
    model = Tied()
    path = tmp_path / "tied.safetensors"
    sa.save(model, path)
    loaded = sa.load(path)
    assert {"a.W", "b.W", "again.W"} <= set(loaded)  # every alias key is stored
    sa.manual_seed(1)
    fresh = Tied()
    assert not np.array_equal(fresh.a.W.data, model.a.W.data)
    W = fresh.a.W
    fresh.load_state_dict(loaded)
    assert fresh.a.W is W and fresh.b.W is W and fresh.again.W is W
    np.testing.assert_array_equal(W.data, model.a.W.data)
    W.data[0, 0] = 42.0
    assert fresh.b.W.data[0, 0] == 42.0


def test_file_is_plain_safetensors(tmp_path: Path) -> None:
    model = Sequential(Linear(3, 2))
    path = tmp_path / "m.safetensors"
    sa.save(model, path, metadata={"step": "7"})
    foreign = safetensors.numpy.load_file(path)
    assert set(foreign) == {"0.W", "0.b"}
    np.testing.assert_array_equal(foreign["0.W"], model[0].W.data)
    assert load_metadata(path) == {"format": "np", "producer": "scratchai", "step": "7"}


def test_save_overwrites_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "x.safetensors"
    sa.save({"v": np.zeros(2)}, str(path))
    sa.save({"v": np.ones(2)}, path)
    np.testing.assert_array_equal(sa.load(path)["v"], 1.0)
    assert os.listdir(tmp_path) == ["x.safetensors"]


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        ({1: np.zeros(2)}, TypeError, "keys must be str"),
        ({"x": [1.0, 2.0]}, TypeError, "'x' must be a numpy array, got list"),
        ({"x": np.array(["a"])}, TypeError, "'x' has dtype <U1"),
        ({"x": np.zeros(2, np.complex128)}, TypeError, "'x' has dtype complex128"),
        ({"__metadata__": np.zeros(2)}, ValueError, "reserved"),
    ],
)
def test_save_refuses_bad_values(tmp_path: Path, state, error, match: str) -> None:
    with pytest.raises(error, match=match):
        sa.save(state, tmp_path / "bad.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_refuses_other_objects_and_bad_metadata(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="expects a Module or a state dict"):
        sa.save([np.zeros(2)], tmp_path / "a")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata must map str to str"):
        sa.save({"v": np.zeros(2)}, tmp_path / "a", metadata={"step": 3})  # type: ignore[dict-item]


# ---------------------------------------------------------------- refused files


def _good_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "good.safetensors"
    sa.save({"w": np.arange(100, dtype=np.float32)}, path)
    return path.read_bytes()


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_file(tmp_path: Path, cut: float) -> None:
    raw = _good_bytes(tmp_path)
    path = tmp_path / "cut.safetensors"
    path.write_bytes(raw[: int(len(raw) * cut)])
    with pytest.raises(CheckpointError, match="truncated") as info:
        sa.load(path)
    assert str(path) in str(info.value)


def test_truncated_inside_the_header_length(tmp_path: Path) -> None:
    path = tmp_path / "tiny.safetensors"
    path.write_bytes(b"\x10\x00\x00")
    with pytest.raises(CheckpointError, match="too short"):
        sa.load(path)


def test_empty_missing_and_directory(tmp_path: Path) -> None:
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        sa.load(empty)
    with pytest.raises(CheckpointError, match="does not exist") as info:
        sa.load(tmp_path / "nope.safetensors")
    assert "nope.safetensors" in str(info.value)
    with pytest.raises(CheckpointError, match="directory"):
        sa.load(tmp_path)


def test_garbage_and_corrupt_header(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match="not a safetensors file"):
        sa.load(garbage)
    raw = bytearray(_good_bytes(tmp_path))
    raw[8] = ord("#")  # the JSON header no longer parses
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="not valid JSON"):
        sa.load(bad)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a checkpoint at all\n")
    with pytest.raises(CheckpointError, match=r"notes\.txt"):
        sa.load(text)
    assert issubclass(CheckpointError, ValueError)


class _Payload:
    """Unpickling this creates a directory: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def test_pickle_file_is_refused_and_never_executed(tmp_path: Path) -> None:
    # The payload really does run code when unpickled...
    probe = tmp_path / "probe"
    pickle.loads(pickle.dumps(_Payload(probe)))
    assert probe.exists()
    # ...but scratchai.load never unpickles it.
    marker = tmp_path / "marker"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"W": _Payload(marker)}, protocol=4))
    with pytest.raises(CheckpointError, match="pickle") as info:
        sa.load(path)
    assert "evil.safetensors" in str(info.value)
    assert not marker.exists()


def test_zip_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    with pytest.raises(CheckpointError, match="zip archive"):
        sa.load(path)


# ---------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("fail_at", ["replace", "fsync", "write"])
def test_failed_save_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail_at: str
) -> None:
    path = tmp_path / "ckpt.safetensors"
    sa.save({"v": np.arange(3.0)}, path)
    old = path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("simulated crash")

    if fail_at == "write":
        monkeypatch.setattr(serialization.safetensors.numpy, "save", lambda *a, **k: b"\0" * 64)
        real_fdopen = os.fdopen

        class Breaking:
            def __init__(self, *args: object, **kwargs: object) -> None:
                self.f = real_fdopen(*args, **kwargs)  # type: ignore[call-overload]

            def __enter__(self):
                return self

            def __exit__(self, *exc: object) -> None:
                self.f.close()

            def write(self, data: bytes) -> None:
                self.f.write(data[:10])
                raise OSError("disk full")

        monkeypatch.setattr(serialization.os, "fdopen", Breaking)
    else:
        monkeypatch.setattr(serialization.os, fail_at, boom)
    with pytest.raises(OSError, match=r"simulated crash|disk full"):
        sa.save({"v": np.arange(1000.0)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == old
    np.testing.assert_array_equal(sa.load(path)["v"], np.arange(3.0))
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_header_that_does_not_add_up_is_corrupt(tmp_path: Path) -> None:
    # A well-formed JSON header whose tensor claims 100 floats but only 8 bytes of data.
    header = json.dumps({"w": {"dtype": "F32", "shape": [100], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "liar.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(CheckpointError, match="corrupt safetensors") as info:
        sa.load(path)
    assert "liar.safetensors" in str(info.value)
