"""A user's text (an experiment's name) made safe to use as part of a file name.

``checkpoints/NAME-stepN.safetensors``, ``exports/NAME-stepN.csv`` and the screenshots are named
after the experiment, and the name is whatever the user's ``build()`` wrote: a ``/`` in it made
subfolders, a ``..`` could leave the folder, a 100,000-character name is no file name at all.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

from scratchai.atomic_write import remove_dead_temporaries, temporary_name

#: Bytes (UTF-8) of a stem: what is added after it (``-step123456789-torch.safetensors``, a
#: screenshot's time stamp) must still fit the 255 bytes most file systems allow.
MAX_STEM_BYTES = 96
FALLBACK = "experiment"
#: Names Windows reserves whatever the suffix (``NUL.csv`` is the null device there).
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def _allowed(char: str) -> bool:
    """Letters and digits of any script, and ``-``, ``_``, ``.``: nothing a shell, a path or a
    file system gives a meaning to."""
    return char in "-_." or (char.isalnum() and unicodedata.category(char)[0] in "LN")


def safe_stem(name: str, max_bytes: int = MAX_STEM_BYTES) -> str:
    """``name`` as the first part of a file name: no separators, no ``..``, no control or
    space characters, never hidden, at most ``max_bytes`` bytes of UTF-8.

    Every other character becomes ``_`` (runs collapse to one); a run of dots becomes one dot
    and leading dots go. A name cut to fit ends with 8 hex digits of its hash, so two long
    names that start alike still name different files. Linear in ``len(name)``.

    Examples:
        ``"mlp"`` -> ``"mlp"``; ``"../../etc/passwd"`` -> ``"etc_passwd"``;
        ``"my model: v2"`` -> ``"my_model_v2"``; ``""`` -> ``"experiment"``.
    """
    text = unicodedata.normalize("NFC", name)
    out: list[str] = []
    for char in text:
        if not _allowed(char):
            char = "_"
        if out and char in "_." and out[-1] == char:
            continue  # collapse runs: no '..', no '____'
        out.append(char)
    stem = "".join(out).lstrip("._").rstrip("._") or FALLBACK
    if stem.split(".")[0].lower() in _RESERVED:
        stem = f"_{stem}"
    encoded = stem.encode("utf-8")
    if len(encoded) > max_bytes:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        head = encoded[: max_bytes - 9].decode("utf-8", "ignore").rstrip("._")
        stem = f"{head}-{digest}"
    return stem


def numbered(path: Path, limit: int = 10_000) -> Iterator[Path]:
    """``path``, then ``STEM-2.SUFFIX``, ``STEM-3.SUFFIX``, ... (``limit`` names in all)."""
    suffix = path.suffix
    stem = path.name[: len(path.name) - len(suffix)] if suffix else path.name
    yield path
    for number in range(2, limit + 1):
        yield path.with_name(f"{stem}-{number}{suffix}")


def write_new(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write a new file at ``path``, or at ``STEM-2.SUFFIX``, ``STEM-3.SUFFIX``, ... when the
    name is taken: an export, a checkpoint or a screenshot never replaces an earlier file.

    ``write(tmp)`` writes the whole file under this process's temporary name (the one
    ``atomic_write`` gives: a killed writer's is removed by the next write into the folder),
    which is then hard-linked to the first free name. A link never replaces a file, so two
    writers at once (two tabs of a served debugger saving one step into one folder) get two
    names, and the file appears whole or not at all. Where the file system has no hard links,
    the name is claimed by an exclusive create and the file renamed over the claim.

    Returns:
        The path written.

    Raises:
        OSError: the folder cannot be created or written, or every numbered name is taken.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(path.parent)
    tmp = temporary_name(path)
    try:
        write(tmp)
        for candidate in numbered(path):
            try:
                os.link(tmp, candidate)
                return candidate
            except FileExistsError:
                continue
            except OSError:  # no hard links here: claim the name, then rename over it
                try:
                    with open(candidate, "x"):
                        pass
                except FileExistsError:
                    continue
                os.replace(tmp, candidate)
                return candidate
        raise FileExistsError(f"{path} and the numbered names after it exist already")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
