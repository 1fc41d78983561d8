"""What ``sa.load`` costs in memory against the file's size, and what hostile headers cost.

Each load runs in a fresh process, so its peak resident memory (``VmHWM``, Linux) is its own;
the figure is the peak minus the process's resident size just before the load (imports, the
interpreter), over the file's size. Compared with the previous way of loading (the whole file
read as bytes, parsed by ``safetensors.numpy.load``, then copied into writable arrays), computed
in the same way.

    python benchmarks/load_memory.py            # 256 MiB and 1 GiB files, in a temp folder
    python benchmarks/load_memory.py --sizes 64  # sizes in MiB
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import scratchai as sa

CHILD = """
import json, sys
import numpy as np, safetensors.numpy, scratchai as sa

def status_kib(field):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field))

path, how = sys.argv[1], sys.argv[2]
before = status_kib("VmRSS:")
if how == "new":
    state = sa.load(path)
else:  # the previous sa.load: bytes, safetensors' parse, a writable copy of each array
    with open(path, "rb") as f:
        raw = f.read()
    state = {k: np.array(v, copy=True) for k, v in safetensors.numpy.load(raw).items()}
    del raw
peak = status_kib("VmHWM:")  # this process's own peak (ru_maxrss can be the parent's)
print(json.dumps({"before": before, "peak": peak, "arrays": sum(v.nbytes for v in state.values())}))
"""


def measure(path: Path, how: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True, check=True
    ).stdout
    got = json.loads(out)
    size = path.stat().st_size
    return {"extra": (got["peak"] - got["before"]) * 1024 / size, "peak_mib": got["peak"] / 1024}


def hostile(folder: Path) -> list[tuple[str, float]]:
    """Seconds to refuse headers that cost gigabytes before."""
    rows = []
    entry = '"t{}": {{"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}}'
    text = ("{" + ", ".join(entry.format(i) for i in range(1_000_000)) + "}").encode()
    cases = {
        f"{len(text) / 2**20:.0f} MB header of 1,000,000 empty tensors": text,
        "header nested 200,000 deep": b'{"w": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        "a 5,000-digit shape": b'{"w": {"dtype": "U8", "shape": [' + b"9" * 5000 + b"]}}",
        "100,000 empty tensors (the most allowed: loaded, not refused)": (
            "{" + ", ".join(entry.format(i) for i in range(100_000)) + "}"
        ).encode(),
        "300,000 empty tensors in 13 MB": (
            "{" + ", ".join(entry.format(i) for i in range(300_000)) + "}"
        ).encode(),
    }
    for name, header in cases.items():
        path = folder / "hostile.safetensors"
        path.write_bytes(len(header).to_bytes(8, "little") + header)
        started = time.perf_counter()
        with contextlib.suppress(sa.CheckpointError):
            sa.load(path)
        rows.append((name, time.perf_counter() - started))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 1024], help="MiB")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scratchai-load-") as tmp:
        folder = Path(tmp)
        print("| file | new: peak extra / file | previous: peak extra / file |")
        print("|---|---:|---:|")
        for mib in args.sizes:
            path = folder / f"m{mib}.safetensors"
            n = mib * 2**20 // 4
            rng = np.random.default_rng(0)
            state = {  # a few large tensors and many small ones, as a model has
                "big": rng.standard_normal(n // 2, dtype=np.float32),
                "mid": rng.standard_normal(n // 2 - 64 * 1000, dtype=np.float32),
                **{f"small.{i}": np.ones(1000, np.float32) for i in range(64)},
            }
            sa.save(state, path)
            del state
            new, old = measure(path, "new"), measure(path, "old")
            size = path.stat().st_size / 2**20
            print(
                f"| {size:.0f} MiB | {new['extra']:.2f}x ({new['peak_mib']:.0f} MiB peak) "
                f"| {old['extra']:.2f}x ({old['peak_mib']:.0f} MiB peak) |"
            )
            os.unlink(path)
        print()
        print("| hostile header | refused in |")
        print("|---|---:|")
        for name, seconds in hostile(folder):
            print(f"| {name} | {seconds * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
