"""Write a file atomically, and leave nothing behind when the writer is killed.

The bytes go to a temporary file in the target's directory, which is fsynced and renamed over
the target: a crash mid-write leaves the old file intact. The temporary's name says whose it is
(``.NAME.<host>-<pid>-<random>.tmp``), so the next write into the same folder removes the
temporaries of writers that are no longer alive, whatever file they were writing. (Linux's
``O_TMPFILE`` + ``linkat`` would leave nothing even for a moment, but linking through
``/proc/self/fd`` fails with EXDEV on some sandboxed kernels, so it cannot be relied on.)
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import time
import zlib
from pathlib import Path

STALE_SECONDS = 600.0  # any temporary untouched this long belongs to a write that died

#: Four hex digits naming this machine: a pid is only judged dead on the machine that owns it
#: (a folder shared over NFS holds other machines' temporaries too).
HOST_TAG = f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFF:04x}"

_OURS = re.compile(r"^\..+\.(?P<host>[0-9a-f]{4})-(?P<pid>\d+)-[0-9a-f]{12}\.tmp$")
_OLD = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")  # before the pid was in the name


def temporary_name(path: Path) -> Path:
    """The name of this process's temporary for ``path``, next to it."""
    return path.parent / f".{path.name}.{HOST_TAG}-{os.getpid()}-{secrets.token_hex(6)}.tmp"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing it right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's process: alive
    return True


def remove_dead_temporaries(directory: Path, now: float | None = None) -> list[Path]:
    """Delete the temporaries that killed writes left in ``directory``.

    A temporary is dead when its writer's pid (on this machine) no longer runs, or when it has
    been untouched for STALE_SECONDS (a pid reused by another process, an older name).
    Returns the paths removed.
    """
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(".tmp")):
            continue
        ours = _OURS.match(name)
        if ours is None and _OLD.match(name) is None:
            continue  # someone else's file
        with contextlib.suppress(OSError):
            dead = ours is not None and (
                ours["host"] == HOST_TAG and not _pid_alive(int(ours["pid"]))
            )
            if dead or now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def write_atomically(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a fsynced temporary renamed over it.

    Raises:
        OSError: the file could not be written (the old file, if any, is untouched, and no
            temporary is left).
    """
    directory = path.parent
    remove_dead_temporaries(directory)
    tmp = temporary_name(path)
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
