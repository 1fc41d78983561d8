"""The JSON header of a safetensors file, parsed within bounds and checked entry by entry.

A hostile header must cost little and fail as a ``CheckpointError``: its size, its nesting,
its number of entries and the digits of its numbers are bounded *before* (or while) it is
parsed, so a header of a million empty tensors, one nested 200,000 deep or a 5,000-digit shape
is refused in milliseconds instead of taking gigabytes, a ``RecursionError`` or a
``ValueError``.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import numpy as np

from .errors import CheckpointError

# dtypes that safetensors.numpy reads back (name in the header -> numpy dtype).
DTYPES: dict[str, np.dtype] = {
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

#: The header's size in bytes. safetensors allows 100 MB; a model of 100,000 tensors with long
#: names needs under 10 MB, and parsing 100 MB of JSON costs seconds and gigabytes.
MAX_HEADER_BYTES = 16 * 1024 * 1024
#: Tensors in one file (a model of 1,000 Linear layers has 2,000).
MAX_ENTRIES = 100_000
#: The format nests 3 deep (header -> entry -> shape list); one more level of slack.
MAX_DEPTH = 4
#: Digits of one number: offsets and dimensions fit in 64 bits (20 digits).
MAX_DIGITS = 20
#: Dimensions of one tensor (NumPy's own limit).
MAX_DIMS = 64

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_LONG_NUMBER = re.compile(rb"[0-9]{%d,}" % (MAX_DIGITS + 1))


def _depth(bare: bytes) -> int:
    """How deep ``[`` and ``{`` nest in ``bare`` (a header without its strings), in C."""
    codes = np.frombuffer(bare, dtype=np.uint8)
    opens = (codes == ord("[")) | (codes == ord("{"))
    closes = (codes == ord("]")) | (codes == ord("}"))
    if not opens.any():
        return 0
    return int(np.cumsum(opens.astype(np.int64) - closes).max())


def _refuse_number(kind: str) -> Any:
    def refuse(text: str) -> Any:
        raise CheckpointError(f"a safetensors header holds no {kind} ({text[:20]!r})")

    return refuse


def parse_header(where: str, text: bytes, data_len: int, hint: str) -> dict[str, Any]:
    """Parse and check a header: every entry's dtype, shape and offsets, against each other and
    against the ``data_len`` bytes that follow the header.

    Args:
        where: the start of every message ("cannot load checkpoint 'PATH'").
        text: the header's bytes (the caller has checked ``len(text) <= MAX_HEADER_BYTES``).
        data_len: bytes of the file after the header.
        hint: what the file's first bytes say it is, for a header that is not JSON.

    Raises:
        CheckpointError: anything malformed, over a bound, or not adding up.
    """
    if text.count(b'"data_offsets"') > MAX_ENTRIES:
        raise CheckpointError(f"{where}: the header lists over {MAX_ENTRIES:,} tensors")
    bare = _STRING.sub(b'""', text)  # the structure: brackets and numbers outside strings
    long_number = _LONG_NUMBER.search(bare)
    if long_number is not None:
        digits = len(long_number[0])
        raise CheckpointError(
            f"{where}: a number of {digits} digits in the header (at most {MAX_DIGITS} fit "
            "in 64 bits)"
        )
    depth = _depth(bare)
    if depth > MAX_DEPTH:
        raise CheckpointError(
            f"{where}: the header nests {depth} deep; a safetensors header nests 3 deep"
        )
    try:
        header = json.loads(
            text.decode("utf-8"),
            parse_float=_refuse_number("fractions"),
            parse_constant=_refuse_number("NaN or Infinity"),
        )
    except CheckpointError as err:
        raise CheckpointError(f"{where}: {err}") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as err:  # JSONDecodeError too
        raise CheckpointError(f"{where}: {hint} (header is not valid JSON: {err})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: the safetensors header is not a JSON object")
    if len(header) > MAX_ENTRIES + 1:
        raise CheckpointError(f"{where}: the header lists over {MAX_ENTRIES:,} tensors")
    for key, info in header.items():
        if key != "__metadata__":
            _check_entry(where, key, info, data_len)
    return header


def _check_entry(where: str, key: str, info: Any, data_len: int) -> None:
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise CheckpointError(f"{where}: tensor '{key}' has a malformed header entry")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise CheckpointError(
            f"{where}: tensor '{key}' has dtype {dtype!r}, which numpy cannot hold"
        )
    if not isinstance(shape, list) or len(shape) > MAX_DIMS or not all(_is_count(d) for d in shape):
        raise CheckpointError(f"{where}: tensor '{key}' has a malformed shape {shape!r:.200}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise CheckpointError(f"{where}: tensor '{key}' has malformed data_offsets")
    expected = math.prod(shape) * DTYPES[dtype].itemsize
    if offsets[1] - offsets[0] != expected:
        raise CheckpointError(
            f"{where}: corrupt safetensors: tensor '{key}' of shape {tuple(shape)} and dtype "
            f"{dtype} needs {expected} bytes, its offsets give {offsets[1] - offsets[0]}"
        )
    if offsets[1] > data_len:
        raise CheckpointError(
            f"{where}: the file is truncated: tensor '{key}' needs data bytes up to "
            f"{offsets[1]}, the file holds {data_len}"
        )


def check_layout(where: str, header: dict[str, Any]) -> None:
    """The tensors tile the data from byte 0 with no gap and no overlap, as safetensors
    requires (its own loader refuses anything else, so scratchai does too)."""
    spans = sorted(
        (tuple(info["data_offsets"]), key) for key, info in header.items() if key != "__metadata__"
    )
    end = 0
    for (start, stop), key in spans:
        if start != end:
            raise CheckpointError(
                f"{where}: corrupt safetensors: tensor '{key}' starts at data byte {start}, "
                f"expected {end} (tensors must follow each other with no gap or overlap)"
            )
        end = stop


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
