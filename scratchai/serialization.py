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

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from .atomic_write import STALE_SECONDS, write_atomically
from .checkpoint_header import DTYPES, MAX_HEADER_BYTES, check_layout, parse_header
from .errors import CheckpointError
from .module import Module
from .parameter import Parameter

__all__ = ["STALE_SECONDS", "load", "load_metadata", "save", "write_atomically"]

_SAVABLE = frozenset(DTYPES.values())
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


#: What ``stat`` says a path is, for the files ``load`` refuses to open.
_KINDS = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _not_regular(mode: int) -> str | None:
    """What a path of this ``st_mode`` is, if it is not a regular file."""
    if stat.S_ISREG(mode):
        return None
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def _open_checked(p: Path) -> tuple[Any, int]:
    """Open ``p`` for reading; it must be a regular file. Returns (file, size in bytes).

    The kind is checked before opening (opening a FIFO for reading blocks until a writer
    comes; opening a device can have effects), and again on the open descriptor, opened
    non-blocking, in case the path was swapped in between.
    """
    where = f"cannot load checkpoint '{p}'"
    try:
        kind = _not_regular(os.stat(p).st_mode)
    except FileNotFoundError:
        raise CheckpointError(f"{where}: the file does not exist") from None
    except OSError as err:
        raise CheckpointError(f"{where}: {err.strerror or err}") from err
    if kind is not None:
        raise CheckpointError(f"{where}: it is {kind}, not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(p, flags | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise CheckpointError(f"{where}: the file does not exist") from None
    except OSError as err:
        raise CheckpointError(f"{where}: {err.strerror or err}") from err
    info = os.fstat(fd)
    kind = _not_regular(info.st_mode)
    if kind is not None:
        os.close(fd)
        raise CheckpointError(f"{where}: it is {kind}, not a regular file")
    return os.fdopen(fd, "rb"), info.st_size


def _read(path: str | os.PathLike[str], payload: bool) -> tuple[Path, dict[str, Any], Any]:
    """Read and check the header of a safetensors file; the file, positioned at the start of
    the tensor data, is returned open when ``payload`` (the caller closes it).

    Returns:
        (path, header, the open file or None).
    """
    p = Path(path)
    where = f"cannot load checkpoint '{p}'"
    f, size = _open_checked(p)
    try:
        head = f.read(8)
        if not head:
            raise CheckpointError(f"{where}: the file is empty")
        if len(head) < 8:
            raise CheckpointError(
                f"{where}: {len(head)} bytes is too short for a safetensors file (truncated?)"
            )
        n = int.from_bytes(head, "little")
        if n > size - 8:
            raise CheckpointError(
                f"{where}: {_not_safetensors_hint(head)} (header length {n} but the file has "
                f"{size} bytes)"
            )
        if n > MAX_HEADER_BYTES:
            raise CheckpointError(
                f"{where}: its header is {n:,} bytes, over the {MAX_HEADER_BYTES:,} that "
                "scratchai reads (a model's header needs a few kB per 100 tensors)"
            )
        text = f.read(n)
        header = parse_header(where, text, size - 8 - n, _not_safetensors_hint(head))
    except BaseException:
        f.close()
        raise
    if not payload:
        f.close()
        return p, header, None
    return p, header, f


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


def load(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a safetensors checkpoint into ``{name: array}`` (writable arrays, any shape).

    Feed the result to ``model.load_state_dict(...)``, which copies the values into the
    model's arrays (so weight ties survive). Each tensor's bytes are read straight into its
    array: memory peaks at the arrays' size plus the header, not at two or three copies.

    Raises:
        CheckpointError: the path is missing or not a regular file (a FIFO, a device, a
            socket), or the file is empty, truncated, corrupt, or not safetensors (e.g. a
            pickle, which is never unpickled). The message names the path.
    """
    p, header, f = _read(path, payload=True)
    where = f"cannot load checkpoint '{p}'"
    arrays: dict[str, np.ndarray] = {}
    with f:  # closed whatever is refused below
        check_layout(where, header)
        start = f.tell()
        keys = [k for k in header if k != "__metadata__"]
        for key in sorted(keys, key=lambda k: header[k]["data_offsets"][0]):  # file order
            info = header[key]
            first, last = info["data_offsets"]
            try:
                array = np.empty(info["shape"], dtype=DTYPES[info["dtype"]].newbyteorder("<"))
            except (MemoryError, ValueError) as err:
                raise CheckpointError(
                    f"{where}: tensor '{key}' ({last - first:,} bytes) cannot be held: {err}"
                ) from None
            f.seek(start + first)
            view = array.reshape(-1).view(np.uint8).data  # a writable memoryview
            got = 0
            while got < len(view):
                n = f.readinto(view[got:])
                if not n:
                    raise CheckpointError(
                        f"{where}: the file is truncated: tensor '{key}' got {got} of "
                        f"{len(view)} bytes (was it cut while being read?)"
                    )
                got += n
            # little-endian on disk; a no-op on little-endian machines
            arrays[key] = array.astype(array.dtype.newbyteorder("="), copy=False)
    return arrays


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
