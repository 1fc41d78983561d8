"""Hostile checkpoints: special files are refused before they are opened, headers are bounded
before they are parsed (size, nesting, entries, digits), every malformed header is a
CheckpointError, a load's memory peaks near the file's size, and killed saves leave nothing
the next save into the folder does not remove."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy

import scratchai as sa
from scratchai.atomic_write import HOST_TAG, remove_dead_temporaries, temporary_name
from scratchai.checkpoint_header import MAX_DEPTH, MAX_ENTRIES, MAX_HEADER_BYTES
from scratchai.errors import CheckpointError
from scratchai.serialization import load_metadata


def _raw(tmp_path: Path, text: bytes, data: bytes = b"") -> Path:
    path = tmp_path / "x.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    return path


def _refused(path: Path, match: str, seconds: float = 2.0) -> None:
    """Both readers refuse ``path`` with ``match``, each within ``seconds``."""
    for reader in (sa.load, load_metadata):
        started = time.monotonic()
        with pytest.raises(CheckpointError, match=match) as info:
            reader(path)
        assert time.monotonic() - started < seconds, f"{reader.__name__} took too long"
        assert str(path) in str(info.value)


# ---------------------------------------------------------------- special files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this OS")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "ckpt.safetensors"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def read() -> None:
        for reader in (sa.load, load_metadata):
            try:
                reader(fifo)
            except BaseException as err:
                errors.append(err)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():  # it blocked in open(): unblock it by opening the other end
        with open(fifo, "wb"):
            pass
        thread.join(5)
        pytest.fail("sa.load blocked on a FIFO")
    assert [type(e) for e in errors] == [CheckpointError, CheckpointError]
    assert "a named pipe (FIFO), not a regular file" in str(errors[0])


def test_a_socket_and_devices_are_refused(tmp_path: Path) -> None:
    if hasattr(socket, "AF_UNIX"):
        path = tmp_path / "s.safetensors"
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(path))
            _refused(path, "it is a socket")
    if Path("/dev/null").exists():
        _refused(Path("/dev/null"), "a character device")


def test_a_symlink_to_a_checkpoint_still_loads(tmp_path: Path) -> None:
    sa.save({"v": np.arange(3.0)}, tmp_path / "real.safetensors")
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "real.safetensors")
    np.testing.assert_array_equal(sa.load(link)["v"], np.arange(3.0))


# ---------------------------------------------------------------- bounded headers


def test_a_header_nested_200000_deep_is_refused_quickly(tmp_path: Path) -> None:
    deep = b'{"w": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    _refused(_raw(tmp_path, deep), "nests 200001 deep")


def test_nesting_inside_strings_does_not_count(tmp_path: Path) -> None:
    metadata = {"note": "[[[[[[[[{{{{{{ \\" + '" ]]]'}
    sa.save({"v": np.zeros(2)}, tmp_path / "m.safetensors", metadata=metadata)
    assert load_metadata(tmp_path / "m.safetensors")["note"] == metadata["note"]
    too_deep = {"w": {"dtype": "F32", "shape": [[[[1]]]], "data_offsets": [0, 4]}}
    assert MAX_DEPTH < 6
    _refused(_raw(tmp_path, json.dumps(too_deep).encode(), b"\0" * 4), "nests 6 deep")


@pytest.mark.parametrize(
    ("shape", "match"),
    [
        ("[" + "9" * 5000 + "]", "a number of 5000 digits"),
        ("[1.5]", "holds no fractions"),
        ("[NaN]", "holds no NaN or Infinity"),
        ("[" + ",".join(["1"] * 65) + "]", "malformed shape"),  # over NumPy's 64 dimensions
    ],
)
def test_numbers_are_bounded(tmp_path: Path, shape: str, match: str) -> None:
    text = f'{{"w": {{"dtype": "U8", "shape": {shape}, "data_offsets": [0, 1]}}}}'.encode()
    _refused(_raw(tmp_path, text, b"\0"), match)


def test_a_header_of_a_million_empty_tensors_costs_nothing(tmp_path: Path) -> None:
    entry = '"t{}": {{"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}'
    small = "{" + ", ".join(entry.format(i) for i in range(MAX_ENTRIES + 1)) + "}"
    assert len(small) < MAX_HEADER_BYTES  # under the size bound: the entry bound refuses it
    tracemalloc.start()
    try:
        _refused(_raw(tmp_path, small.encode()), "over 100,000 tensors")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * len(small)  # the text, its copy without strings: never parsed
    path = tmp_path / "big.safetensors"
    with open(path, "wb") as f:  # 64 MB of header (sparse): refused by its size, unread
        f.write((64 * 1024**2).to_bytes(8, "little"))
        f.truncate(8 + 64 * 1024**2)
    _refused(path, "over the 16,777,216 that scratchai reads")


def test_tensors_must_tile_the_data(tmp_path: Path) -> None:
    gap = {
        "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
        "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]},
    }
    with pytest.raises(CheckpointError, match="'b' starts at data byte 4, expected 2"):
        sa.load(_raw(tmp_path, json.dumps(gap).encode(), b"\0" * 6))
    overlap = {
        "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
        "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]},
    }
    with pytest.raises(CheckpointError, match="no gap or overlap"):
        sa.load(_raw(tmp_path, json.dumps(overlap).encode(), b"\0" * 6))


def test_a_refused_layout_leaves_no_file_open(tmp_path: Path) -> None:
    import gc
    import warnings

    gap = {
        "a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
        "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]},
    }
    path = _raw(tmp_path, json.dumps(gap).encode(), b"\0" * 6)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(CheckpointError):
            sa.load(path)
        gc.collect()  # an unclosed file warns when it is collected
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_random_damage_to_a_header_is_only_ever_a_checkpoint_error(tmp_path: Path) -> None:
    model = sa.Sequential(sa.Linear(3, 4), sa.BatchNorm1d(4), sa.Linear(4, 2))
    good = tmp_path / "good.safetensors"
    sa.save(model, good, metadata={"step": "3"})
    raw = good.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    rng = random.Random(0)
    alphabet = b'{}[]",:0123456789-.eE \\tnufl'
    outcomes = {"refused": 0, "loaded": 0}
    for _ in range(400):
        header = bytearray(raw[8 : 8 + n])
        for _ in range(rng.randint(1, 4)):
            header[rng.randrange(n)] = rng.choice(alphabet)
        path = _raw(tmp_path, bytes(header), raw[8 + n :])
        try:
            state = sa.load(path)
            load_metadata(path)
        except CheckpointError:
            outcomes["refused"] += 1
        else:
            outcomes["loaded"] += 1
            assert all(isinstance(v, np.ndarray) for v in state.values())
    assert outcomes["refused"] > 300  # almost every change breaks it, and says so


# ---------------------------------------------------------------- what a load costs


def test_a_load_peaks_near_the_file_size_and_matches_safetensors(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    state = {
        "big": rng.standard_normal((2048, 1024)),  # 16 MiB
        "mid": rng.standard_normal((512, 1024)).astype(np.float32),
        "ints": np.arange(1000, dtype=np.int16).reshape(10, 100),
        "empty": np.zeros((0, 5), np.float32),
        "scalar": np.array(3.5),
        "flags": np.array([True, False]),
    }
    path = tmp_path / "m.safetensors"
    sa.save(state, path)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        loaded = sa.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.15 * size, f"peak {peak / size:.2f}x the file"
    reference = safetensors.numpy.load_file(path)
    assert list(loaded) == list(reference)  # the same order as safetensors' own loader
    for key, value in reference.items():
        assert loaded[key].dtype == value.dtype and loaded[key].shape == value.shape
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].flags.writeable and loaded[key].flags.c_contiguous


# ---------------------------------------------------------------- no litter


def _dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(child.stdout)


def test_temporaries_of_dead_writers_go_with_the_next_save_into_the_folder(tmp_path) -> None:
    dead = _dead_pid()
    litter = [
        tmp_path / f".a.safetensors.{HOST_TAG}-{dead}-0123456789ab.tmp",
        tmp_path / f".mlp-step7.csv.{HOST_TAG}-{dead}-ba9876543210.tmp",  # another file's
    ]
    other_host = "0000" if HOST_TAG != "0000" else "0001"
    kept = [
        temporary_name(tmp_path / "b.safetensors"),  # this process: maybe a save in progress
        tmp_path / f".c.safetensors.{other_host}-{dead}-0123456789ab.tmp",  # NFS: not ours
        tmp_path / f".d.safetensors.{HOST_TAG}-{os.getppid()}-0123456789ab.tmp",  # alive
    ]
    for path in litter + kept:
        path.write_bytes(b"x" * 100)
    sa.save({"v": np.zeros(2)}, tmp_path / "new.safetensors")
    assert not any(p.exists() for p in litter)
    assert all(p.exists() for p in kept)
    old = time.time() + 3600  # an hour on: untouched so long, they are stale whoever owns them
    assert sorted(remove_dead_temporaries(tmp_path, now=old)) == sorted(kept)


SAVER = textwrap.dedent(
    """
    import sys, numpy as np, scratchai as sa
    state = {"w": np.ones((4096, 1024))}  # 32 MiB a save
    print("ready", flush=True)
    i = 0
    while True:
        sa.save(state, f"{sys.argv[1]}/step{i % 3}.safetensors")
        i += 1
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no SIGKILL on this OS")
def test_saves_killed_mid_write_leave_nothing_after_the_next_save(tmp_path) -> None:
    """Each saver is killed at a random moment once a temporary of its is on disk (mid-save)."""
    rng = random.Random(1)
    left: set[str] = set()
    for _ in range(5):
        saver = subprocess.Popen(
            [sys.executable, "-c", SAVER, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert saver.stdout is not None and saver.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.0, 0.3))
        deadline = time.monotonic() + 10
        while not any(p.suffix == ".tmp" for p in tmp_path.iterdir()):
            assert time.monotonic() < deadline, "the saver never wrote a temporary"
        saver.kill()
        saver.wait()
        saver.stdout.close()
        left |= {p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"}
    assert left  # the kills did leave temporaries
    sa.save({"v": np.zeros(2)}, tmp_path / "after.safetensors")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert all(not n.startswith(".") for n in names), f"litter left: {names}"
    for name in names:  # what is left is whole
        assert set(sa.load(tmp_path / name)) in ({"w"}, {"v"})
