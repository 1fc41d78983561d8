"""sa.load reads no more than the header declares, every malformed header is a
CheckpointError, and saves killed midway leave nothing behind for long."""

from __future__ import annotations

import json
import os
import time
import tracemalloc
from pathlib import Path

import pytest

import scratchai as sa
from scratchai.errors import CheckpointError
from scratchai.serialization import STALE_SECONDS


def _file(tmp_path: Path, header: object, data: bytes = b"") -> Path:
    text = json.dumps(header).encode()
    path = tmp_path / "x.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + data)
    return path


def test_a_huge_file_that_is_not_a_checkpoint_is_refused_without_reading_it(tmp_path) -> None:
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:  # 2 GiB, sparse: nothing is really written
        f.write(b"GARBAGE!")
        f.truncate(2 * 1024**3)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="not a safetensors file"):
            sa.load(path)
        assert tracemalloc.get_traced_memory()[1] < 10 * 1024**2  # peak far below the size
    finally:
        tracemalloc.stop()


def test_only_the_declared_tensors_are_read(tmp_path) -> None:
    model = sa.Linear(4, 3)
    path = tmp_path / "m.safetensors"
    sa.save(model, path)
    with open(path, "ab") as f:  # trailing bytes the header does not claim
        f.truncate(path.stat().st_size + 512 * 1024**2)
    tracemalloc.start()
    try:
        state = sa.load(path)
        assert tracemalloc.get_traced_memory()[1] < 10 * 1024**2
    finally:
        tracemalloc.stop()
    assert set(state) == {"W", "b"}


def test_a_device_is_refused(tmp_path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    with pytest.raises(CheckpointError, match="not a regular file"):
        sa.load("/dev/zero")


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"dtype": ["F32"], "shape": [1], "data_offsets": [0, 4]}, "dtype"),
        ({"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}, "malformed shape"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "malformed shape"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "malformed data_offsets"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0, True]}, "malformed data_offsets"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "needs 8 bytes"),
        ({"dtype": "F32", "shape": [1]}, "malformed header entry"),
        ("F32", "malformed header entry"),
    ],
)
def test_every_malformed_header_is_a_checkpoint_error(tmp_path, entry, match) -> None:
    path = _file(tmp_path, {"w": entry}, b"\0" * 8)
    with pytest.raises(CheckpointError, match=match):
        sa.load(path)
    with pytest.raises(CheckpointError):
        sa.serialization.load_metadata(path)


def test_stale_temporaries_of_killed_saves_are_cleaned_by_the_next_save(tmp_path) -> None:
    target = tmp_path / "m.safetensors"
    stale = tmp_path / ".m.safetensors.0123456789ab.tmp"  # an older save's name, no pid
    fresh = tmp_path / ".m.safetensors.ba9876543210.tmp"  # a save in progress elsewhere
    other = tmp_path / ".other.safetensors.00112233aabb.tmp"  # another file's, same folder
    mine = tmp_path / ".notes.tmp"  # not a temporary of ours: never touched
    for path in (stale, fresh, other, mine):
        path.write_bytes(b"x" * 1000)
    old = time.time() - STALE_SECONDS - 60
    for path in (stale, other, mine):
        os.utime(path, (old, old))
    sa.save(sa.Linear(2, 2), target)
    assert not stale.exists() and not other.exists()
    assert fresh.exists() and mine.exists()
    assert set(sa.load(target)) == {"W", "b"}
