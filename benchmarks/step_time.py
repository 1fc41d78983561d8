"""Per-step training time: scratchai against a hand-written NumPy step and PyTorch eager (CPU).

One step = forward, cross-entropy loss, backward, SGD update, on one fixed float32 batch.
All contenders start from the same float32 weights and see the same arrays. They are timed
in one process, interleaved (A B C, then C B A, ...) so that clock drift, turbo and other
load hit them alike; the table gives the median per-step time of each and the ratios.

    python benchmarks/step_time.py            # full run (about a minute)
    python benchmarks/step_time.py --quick    # smoke run: few repeats, numbers are noisy

On machines where ``OPENBLAS_CORETYPE`` is set (it can pin OpenBLAS to a slower kernel), run
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/step_time.py``; the kernel in
use is printed with the table. PyTorch is optional: without it the torch column says "-".
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import itertools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import scratchai as sa

LR = 0.01

# (label, layer widths, batch size)
SHAPES: list[tuple[str, tuple[int, ...], int]] = [
    ("lesson 128→64→10", (128, 64, 10), 32),
    ("784→256→10", (784, 256, 10), 64),
    ("784→1024→1024→10", (784, 1024, 1024, 10), 256),
]


# ---------------------------------------------------------------------------- the contenders
def make_problem(widths: tuple[int, ...], batch: int, seed: int = 0):
    """Float32 weights ``W: (in, out)``, ``b: (out,)`` (PyTorch's Linear init) and a batch."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in itertools.pairwise(widths):
        bound = 1.0 / np.sqrt(fan_in)
        W = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        params.append((W, b))
    X = rng.standard_normal((batch, widths[0])).astype(np.float32)
    y = rng.integers(0, widths[-1], batch).astype(np.int64)
    return params, X, y


class HandWritten:
    """The step as one would write it by hand in NumPy (CS231n style), without a framework.

    Stable softmax cross-entropy, ``x.T @ dout`` for the weight gradient, in-place ReLU and
    in-place ``W -= lr * dW``; float32 throughout (the scalars are Python floats, NEP 50).
    """

    def __init__(self, params, X: np.ndarray, y: np.ndarray, lr: float = LR) -> None:
        self.params = [(W.copy(), b.copy()) for W, b in params]
        self.X, self.y, self.lr = X, y, lr
        self.rows = np.arange(len(y))

    def step(self) -> float:
        X, y, lr, rows = self.X, self.y, self.lr, self.rows
        n = X.shape[0]
        # forward: keep each layer's input for backward
        inputs = []
        h = X
        last = len(self.params) - 1
        for i, (W, b) in enumerate(self.params):
            inputs.append(h)
            h = h @ W
            h += b
            if i != last:
                np.maximum(h, 0.0, out=h)  # ReLU in place; h > 0 is its mask in backward
        # loss: stable log-softmax cross-entropy, mean over the batch
        h -= h.max(axis=1, keepdims=True)
        e = np.exp(h)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.log(s).mean() - h[rows, y].mean())
        e /= s
        e[rows, y] -= 1.0
        e *= 1.0 / n
        dout = e
        # backward and update, last layer first
        for i in range(last, -1, -1):
            W, b = self.params[i]
            x = inputs[i]
            dW = x.T @ dout
            db = dout.sum(axis=0)
            if i:
                dout = dout @ W.T
                dout *= x > 0  # x is the previous ReLU's output
            W -= lr * dW
            b -= lr * db
        return loss


class ScratchAI:
    """The same step with scratchai: Sequential(Linear, ReLU, ...), CrossEntropyLoss, SGD."""

    def __init__(self, params, X: np.ndarray, y: np.ndarray, lr: float = LR) -> None:
        layers: list[sa.Module] = []
        for i, (W, b) in enumerate(params):
            linear = sa.Linear(W.shape[0], W.shape[1])
            linear.W.data[...] = W
            linear.b.data[...] = b
            layers.append(linear)
            if i != len(params) - 1:
                layers.append(sa.ReLU())
        self.model = sa.Sequential(*layers)
        self.criterion = sa.CrossEntropyLoss()
        self.optimizer = sa.SGD(self.model.parameters(), lr=lr)
        self.X, self.y = X, y

    def step(self) -> float:
        self.optimizer.zero_grad()
        loss = self.criterion(self.model(self.X), self.y)
        self.model.backward(self.criterion.backward(), input_grad=False)
        self.optimizer.step()
        return float(loss)


class Torch:
    """PyTorch eager on the CPU: nn.Sequential, F.cross_entropy, optim.SGD, zero_grad(None)."""

    def __init__(self, params, X: np.ndarray, y: np.ndarray, lr: float = LR) -> None:
        import torch

        layers: list = []
        for i, (W, b) in enumerate(params):
            linear = torch.nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(W.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers.append(linear)
            if i != len(params) - 1:
                layers.append(torch.nn.ReLU())
        self.torch = torch
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr)
        self.X = torch.from_numpy(X)
        self.y = torch.from_numpy(y)
        self.cross_entropy = torch.nn.functional.cross_entropy

    def step(self) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


# ---------------------------------------------------------------------------- timing
@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)  # seconds per step, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def _time_block(step: Callable[[], float], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - start) / n


def calibrate(step: Callable[[], float], target_s: float) -> int:
    """Steps per timed block so that one block of ``step`` takes about ``target_s``."""
    n = 1
    while True:
        elapsed = _time_block(step, n) * n
        if elapsed >= target_s / 4 or n >= 1 << 16:
            return max(1, int(n * target_s / max(elapsed, 1e-9)))
        n *= 4


def interleaved(
    steps: dict[str, Callable[[], float]],
    rounds: int,
    target_s: float,
    gap_s: float = 0.2,
    warmup: int = 3,
) -> dict[str, Timing]:
    """Time each step in blocks, alternating the order of the contenders round by round.

    Before each block the process sleeps ``gap_s``: BLAS worker threads keep spinning for a
    while after their last call (OpenBLAS about 2**28 cycles, i.e. ~0.1 s; OpenMP too), and
    on a machine with few cores the previous contender's spinning threads would otherwise
    steal the next contender's cores (measured here: PyTorch 2-20x slower right after a NumPy
    block without the gap, unchanged with it).
    """
    for step in steps.values():
        for _ in range(warmup):
            step()
    # one block size for all, set by the slowest, so every block sees similar conditions
    n = min(calibrate(step, target_s) for step in steps.values())
    names = list(steps)
    timings = {name: Timing(name) for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            order = names if r % 2 == 0 else names[::-1]
            for name in order:
                if gap_s:
                    time.sleep(gap_s)
                timings[name].samples.append(_time_block(steps[name], n))
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings


# ---------------------------------------------------------------------------- BLAS / threads
def _openblas_libraries() -> list[tuple[str, ctypes.CDLL]]:
    """The OpenBLAS shared libraries loaded in this process (Linux; empty elsewhere)."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return []
    found = []
    for path in paths:
        if path.endswith(".so") or ".so." in path:
            with contextlib.suppress(OSError):
                found.append((path, ctypes.CDLL(path)))
    return found


def _openblas_function(lib: ctypes.CDLL, name: str):
    """``openblas_<name>`` under any of the symbol prefixes/suffixes the builds use, or None."""
    for prefix in ("scipy_", ""):
        for suffix in ("64_", ""):
            function = getattr(lib, f"{prefix}openblas_{name}{suffix}", None)
            if function is not None:
                return function
    return None


def _openblas_ctypes() -> list[dict[str, object]]:
    """Kernel and threads of each loaded OpenBLAS, asked directly (used without threadpoolctl)."""
    found = []
    for path, lib in _openblas_libraries():
        info: dict[str, object] = {"library": os.path.basename(path)}
        core = _openblas_function(lib, "get_corename")
        if core is not None:
            core.restype = ctypes.c_char_p
            info["architecture"] = core().decode()
        threads = _openblas_function(lib, "get_num_threads")
        if threads is not None:
            threads.restype = ctypes.c_int
            info["num_threads"] = threads()
        found.append(info)
    return found


def limit_threads(n: int) -> None:
    """Cap NumPy's BLAS (and PyTorch, if importable) at ``n`` threads for this process.

    Useful on a shared or busy machine: a multi-threaded GEMM that loses a core to another
    process waits at every barrier, a single-threaded one only slows down in proportion.
    """
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n)  # not as a context manager: stays in force
    except ImportError:
        for _, lib in _openblas_libraries():
            set_threads = _openblas_function(lib, "set_num_threads")
            if set_threads is not None:
                set_threads(ctypes.c_int(n))
    if torch_available():
        import torch

        torch.set_num_threads(n)


def blas_info() -> list[str]:
    """Lines describing NumPy's BLAS (library, kernel, threads) and PyTorch's threads."""
    lines = [
        f"numpy {np.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}, os.cpu_count()={os.cpu_count()}"
    ]
    if hasattr(os, "getloadavg"):
        # Other work on the machine skews every contender, multi-threaded BLAS the most.
        one, five, fifteen = os.getloadavg()
        lines.append(f"load average at the end (1, 5, 15 min): {one:.2f} {five:.2f} {fifteen:.2f}")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if var in os.environ:
            lines.append(f"env {var}={os.environ[var]}")
    try:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
        for pool in pools:
            lines.append(
                "threadpoolctl: {internal_api} {version} ({filename}) kernel={arch} "
                "threads={num_threads}".format(
                    internal_api=pool.get("internal_api"),
                    version=pool.get("version"),
                    filename=os.path.basename(pool.get("filepath", "")),
                    arch=pool.get("architecture", "?"),
                    num_threads=pool.get("num_threads"),
                )
            )
    except ImportError:
        pools = None
    if not pools:
        config = {}
        with contextlib.suppress(Exception):
            config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]  # type: ignore[index]
        if config:
            lines.append(
                f"numpy.show_config: blas={config.get('name')} {config.get('version')} "
                f"({config.get('openblas configuration', '')})"
            )
        for lib in _openblas_ctypes():
            kernel, threads = lib.get("architecture", "?"), lib.get("num_threads", "?")
            lines.append(
                f"OpenBLAS (asked directly): {lib['library']} kernel={kernel} threads={threads}"
            )
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        lines.append(
            f"torch {torch.__version__}: get_num_threads()={torch.get_num_threads()}, "
            f"get_num_interop_threads()={torch.get_num_interop_threads()}"
        )
    return lines


# ---------------------------------------------------------------------------- the report
def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def run(
    quick: bool = False,
    use_torch: bool = True,
    shapes: list[tuple[str, tuple[int, ...], int]] | None = None,
    rounds: int | None = None,
    target_s: float | None = None,
    gap_s: float | None = None,
    out: Any = sys.stdout,
) -> list[dict[str, Any]]:
    """Measure every shape; print the Markdown table to ``out`` and return the rows.

    Each row: shape, batch, the median seconds per step of "scratchai", "numpy" and "torch"
    (None without PyTorch), the ratios "vs_numpy" and "vs_torch", and "loss_diff", the largest
    difference between the contenders' losses after their first step (they must agree).
    """
    shapes = SHAPES if shapes is None else shapes
    rounds = rounds if rounds is not None else (3 if quick else 11)
    target_s = target_s if target_s is not None else (0.01 if quick else 0.1)
    gap_s = gap_s if gap_s is not None else (0.02 if quick else 0.2)
    with_torch = use_torch and torch_available()
    rows: list[dict[str, Any]] = []
    for label, widths, batch in shapes:
        params, X, y = make_problem(widths, batch)
        contenders: dict[str, Any] = {
            "scratchai": ScratchAI(params, X, y),
            "numpy": HandWritten(params, X, y),
        }
        if with_torch:
            contenders["torch"] = Torch(params, X, y)
        first_losses = [c.step() for c in contenders.values()]
        steps = {name: c.step for name, c in contenders.items()}
        timings = interleaved(steps, rounds, target_s, gap_s)
        medians = {name: timing.median for name, timing in timings.items()}
        torch_median = medians.get("torch")
        rows.append(
            {
                "shape": label,
                "batch": batch,
                "scratchai": medians["scratchai"],
                "numpy": medians["numpy"],
                "torch": torch_median,
                "vs_numpy": medians["scratchai"] / medians["numpy"],
                "vs_torch": medians["scratchai"] / torch_median if torch_median else None,
                "loss_diff": max(first_losses) - min(first_losses),
            }
        )

    print(
        "| model | batch | scratchai | hand-written NumPy | PyTorch eager | "
        "scratchai / NumPy | scratchai / torch |",
        file=out,
    )
    print("|---|---:|---:|---:|---:|---:|---:|", file=out)
    for row in rows:
        vs_torch = "-" if row["vs_torch"] is None else f"{row['vs_torch']:.2f}"
        print(
            f"| {row['shape']} | {row['batch']} | {_fmt_time(row['scratchai'])} | "
            f"{_fmt_time(row['numpy'])} | {_fmt_time(row['torch'])} | {row['vs_numpy']:.2f} | "
            f"{vs_torch} |",
            file=out,
        )
    print(file=out)
    agreement = max(row["loss_diff"] for row in rows)
    print(
        f"Median of {rounds} interleaved rounds per contender; the first-step losses of the "
        f"contenders agree within {agreement:.1e}.",
        file=out,
    )
    for line in blas_info():
        print(f"- {line}", file=out)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 11, quick 3)")
    parser.add_argument("--threads", type=int, help="cap BLAS and PyTorch threads (default: as is)")
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    run(quick=args.quick, use_torch=not args.no_torch, rounds=args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
