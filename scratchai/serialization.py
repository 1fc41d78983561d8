"""Checkpoints in the safetensors format: a JSON header and raw array bytes, never pickle.

``save(model_or_state_dict, path)`` writes atomically (a temporary file in the same directory,
flushed, fsynced, then renamed over ``path``), so a crash mid-save leaves the old file intact.
``load(path)`` returns ``{name: array}`` and raises ``CheckpointError`` for a missing,
truncated, corrupt or non-safetensors file; loading never executes anything from the file.

The files are plain safetensors, readable by ``safetensors.numpy.load_file`` and by other
frameworks' safetensors loaders. Tied weights: ``state_dict()`` holds one array under every
alias key; each key is stored with its own copy, and ``Module.load_state_dict`` copies values
into the existing arrays, so after ``model.load_state_dict(load(path))`` the tie is intact.
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import secrets
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from .errors import CheckpointError
from .module import Module
from .parameter import Parameter

__all__ = ["load", "load_metadata", "save"]

# dtypes that safetensors.numpy reads back (name in the header -> numpy dtype).
_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype(np.float64),
    "F32": np.dtype(np.float32),
    "F16": np.dtype(np.float16),
    "I64": np.dtype(np.int64),
    "U64": np.dtype(np.uint64),
    "I32": np.dtype(np.int32),
    "U32": np.dtype(np.uint32),
    "I16": np.dtype(np.int16),
    "U16": np.dtype(np.uint16),
    "I8": np.dtype(np.int8),
    "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
}
_SAVABLE = frozenset(_DTYPES.values())
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
STALE_SECONDS = 600.0  # a temporary file untouched this long belongs to a save that died
DEFAULT_METADATA = {"format": "np", "producer": "scratchai"}


def _tensors(obj: Module | Mapping[str, Any]) -> dict[str, np.ndarray]:
    """A contiguous little-endian copy of every array of ``obj``'s state, by key."""
    if isinstance(obj, Module):
        state: Mapping[str, Any] = obj.state_dict()
    elif isinstance(obj, Mapping):
        state = obj
    else:
        raise TypeError(
            f"save() expects a Module or a state dict {{name: array}}, got {type(obj).__name__}"
        )
    tensors: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"save(): keys must be str, got {type(key).__name__} {key!r}")
        if key == "__metadata__":
            raise ValueError("save(): the key '__metadata__' is reserved by the safetensors format")
        if isinstance(value, Parameter):
            value = value.data
        if not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(f"save(): '{key}' must be a numpy array, got {type(value).__name__}")
        dtype = value.dtype.newbyteorder("=")
        if dtype not in _SAVABLE:
            raise TypeError(
                f"save(): '{key}' has dtype {value.dtype}, which safetensors cannot hold for "
                "numpy (use bool, (u)int8-64 or float16/32/64)"
            )
        # Own copy per key (aliases of one array stay independent in the file), C order,
        # native little-endian bytes.
        tensors[key] = np.array(value, dtype=dtype.newbyteorder("<"), order="C", copy=True)
    return tensors


def save(
    obj: Module | Mapping[str, Any],
    path: str | os.PathLike[str],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a model's ``state_dict()`` (or a state dict) to ``path`` as safetensors, atomically.

    Args:
        obj: a Module (its ``state_dict()`` is saved: parameters and persistent buffers, every
            alias key) or a mapping ``{name: array}`` of numeric arrays (any shape).
        path: the file to write; its directory must exist. An existing file is replaced only
            once the new one is completely on disk.
        metadata: optional text metadata for the header, ``{str: str}``; it is merged over
            ``{"format": "np", "producer": "scratchai"}``.

    Raises:
        TypeError / ValueError: a key that is not str, a value that is not a numeric array.
        OSError: the file could not be written (the old file, if any, is untouched).
    """
    tensors = _tensors(obj)
    header = dict(DEFAULT_METADATA)
    if metadata is not None:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(
                    f"save(): metadata must map str to str, got {key!r}: {type(value).__name__}"
                )
            header[key] = value
    payload = safetensors.numpy.save(tensors, metadata=header)
    write_atomically(Path(path), payload)


def _remove_stale_temporaries(path: Path) -> None:
    """Delete the temporary files that saves of ``path`` killed midway left behind (untouched
    for STALE_SECONDS: a save in progress writes to its file all the time)."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > STALE_SECONDS:
                tmp.unlink()


def write_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to a temporary file next to ``path``, fsync it, rename it over."""
    _remove_stale_temporaries(path)
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(6)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o666)  # the umask applies, as for an ordinary open()
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable where the OS allows it (POSIX); best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _open_checked(p: Path) -> tuple[Any, int]:
    """Open ``p`` for reading; it must be a regular file. Returns (file, size in bytes)."""
    where = f"cannot load checkpoint '{p}'"
    try:
        f = open(p, "rb")  # noqa: SIM115  # closed by the caller's with-block
    except FileNotFoundError:
        raise CheckpointError(f"{where}: the file does not exist") from None
    except IsADirectoryError:
        raise CheckpointError(f"{where}: it is a directory") from None
    except OSError as err:
        raise CheckpointError(f"{where}: {err.strerror or err}") from err
    info = os.fstat(f.fileno())
    if not stat.S_ISREG(info.st_mode):
        f.close()
        raise CheckpointError(f"{where}: it is not a regular file (a device, a pipe...)")
    return f, info.st_size


def _read(path: str | os.PathLike[str], payload: bool) -> tuple[Path, dict[str, Any], bytes]:
    """Read and check the header of a safetensors file, then (``payload``) only the bytes the
    header declares: memory stays bounded by the checkpoint's real size, whatever the file.

    Returns:
        (path, header, the file's bytes up to the end of its last tensor, or b"").
    """
    p = Path(path)
    where = f"cannot load checkpoint '{p}'"
    f, size = _open_checked(p)
    with f:
        head = f.read(8)
        if not head:
            raise CheckpointError(f"{where}: the file is empty")
        if len(head) < 8:
            raise CheckpointError(
                f"{where}: {len(head)} bytes is too short for a safetensors file (truncated?)"
            )
        n = int.from_bytes(head, "little")
        if n > size - 8 or n > _MAX_HEADER:
            raise CheckpointError(
                f"{where}: {_not_safetensors_hint(head)} (header length {n} but the file has "
                f"{size} bytes)"
            )
        text = f.read(n)
        header = _parse_header(p, head, text, size - 8 - n)
        if not payload:
            return p, header, b""
        data_len = max(
            (info["data_offsets"][1] for k, info in header.items() if k != "__metadata__"),
            default=0,
        )
        try:
            data = f.read(data_len)
        except MemoryError:
            raise CheckpointError(
                f"{where}: its {data_len} bytes of tensors do not fit in memory"
            ) from None
    return p, header, head + text + data


def _not_safetensors_hint(raw: bytes) -> str:
    """What the first (8) bytes say the file is, when it is not safetensors."""
    if len(raw) >= 2 and raw[0] == 0x80 and 2 <= raw[1] <= 5:
        return (
            "it is a Python pickle (e.g. from pickle.dump or an old torch.save); scratchai "
            "never unpickles checkpoints, since unpickling can run arbitrary code"
        )
    if raw.startswith(b"PK\x03\x04"):
        return "it is a zip archive (e.g. a torch.save file or an .npz), not safetensors"
    if raw.startswith(b"\x93NUMPY"):
        return "it is a NumPy .npy file, not safetensors"
    return "it is not a safetensors file, or it is truncated"


def _parse_header(p: Path, head: bytes, text: bytes, data_len: int) -> dict[str, Any]:
    """Check the JSON header of a safetensors file: every entry's dtype, shape and offsets,
    against each other and against the ``data_len`` bytes that follow the header."""
    where = f"cannot load checkpoint '{p}'"
    try:
        header = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(
            f"{where}: {_not_safetensors_hint(head)} (header is not valid JSON: {err})"
        ) from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the safetensors header is not a JSON object")
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise CheckpointError(f"{where}: tensor '{key}' has a malformed header entry")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise CheckpointError(
                f"{where}: tensor '{key}' has dtype {dtype!r}, which numpy cannot hold"
            )
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise CheckpointError(f"{where}: tensor '{key}' has a malformed shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise CheckpointError(f"{where}: tensor '{key}' has malformed data_offsets")
        expected = math.prod(shape) * _DTYPES[dtype].itemsize
        if offsets[1] - offsets[0] != expected:
            raise CheckpointError(
                f"{where}: corrupt safetensors: tensor '{key}' of shape {tuple(shape)} and "
                f"dtype {dtype} needs "
                f"{expected} bytes, its offsets give {offsets[1] - offsets[0]}"
            )
        if offsets[1] > data_len:
            raise CheckpointError(
                f"{where}: the file is truncated: tensor '{key}' needs data bytes up to "
                f"{offsets[1]}, the file holds {data_len}"
            )
    return header


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a safetensors checkpoint into ``{name: array}`` (writable arrays, any shape).

    Feed the result to ``model.load_state_dict(...)``, which copies the values into the
    model's arrays (so weight ties survive).

    Raises:
        CheckpointError: the file is missing, empty, truncated, corrupt, or not safetensors
            (e.g. a pickle, which is never unpickled). The message names the path.
    """
    p, _, raw = _read(path, payload=True)
    try:
        arrays = safetensors.numpy.load(raw)
    except Exception as err:  # SafetensorError and friends: the bytes do not add up
        raise CheckpointError(f"cannot load checkpoint '{p}': corrupt safetensors ({err})") from err
    return {key: np.array(value, copy=True) for key, value in arrays.items()}


def load_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The text metadata of a safetensors checkpoint (``{}`` if it has none).

    Raises:
        CheckpointError: as ``load``.
    """
    p, header, _ = _read(path, payload=False)
    metadata = header.get("__metadata__") or {}
    if not isinstance(metadata, dict):
        raise CheckpointError(f"cannot load checkpoint '{p}': __metadata__ is not a JSON object")
    return {str(k): str(v) for k, v in metadata.items()}
