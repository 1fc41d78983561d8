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


class TunedHandWritten:
    """The hand-written step tuned: every array preallocated, ``out=`` everywhere, no temporaries.

    Activations, gradients and softmax buffers are allocated once; matrix products write into
    them (``np.matmul(..., out=)``), reductions call the ufuncs' ``reduce`` directly (``np.max``,
    ``np.sum`` and ``.mean()`` add a Python layer of ~1-3 µs per call at these sizes), ReLU's
    mask is a preallocated boolean array, and the
    learning rate is folded into the loss gradient (the backward pass is linear in it, so every
    ``dW`` comes out already multiplied by ``lr`` and the update is one ``W -= dW``).
    """

    def __init__(self, params, X: np.ndarray, y: np.ndarray, lr: float = LR) -> None:
        self.params = [(W.copy(), b.copy()) for W, b in params]
        self.X, self.lr = X, lr
        n, f32 = X.shape[0], np.float32
        self.n = n
        self.acts = [np.empty((n, W.shape[1]), f32) for W, _ in params]  # each layer's output
        self.masks = [np.empty((n, W.shape[1]), bool) for W, _ in params[:-1]]
        self.dins = [np.empty((n, W.shape[0]), f32) for W, _ in params]  # grad of each input
        self.dWs = [np.empty_like(W) for W, _ in self.params]
        self.dbs = [np.empty_like(b) for _, b in self.params]
        classes = params[-1][0].shape[1]
        self.picked_index = np.arange(n) * classes + y  # flat index of each row's target
        self.logits_flat = self.acts[-1].reshape(-1)  # a view
        self.rowmax = np.empty((n, 1), f32)
        self.rowsum = np.empty((n, 1), f32)
        self.logsum = np.empty((n, 1), f32)
        self.picked = np.empty(n, f32)

    def step(self) -> float:
        last = len(self.params) - 1
        h = self.X
        for i, (W, b) in enumerate(self.params):
            out = self.acts[i]
            np.matmul(h, W, out=out)
            out += b
            if i != last:
                np.maximum(out, 0.0, out=out)
            h = out
        logits, n = h, self.n
        np.maximum.reduce(logits, axis=1, keepdims=True, out=self.rowmax)
        logits -= self.rowmax
        self.logits_flat.take(self.picked_index, out=self.picked)
        np.exp(logits, out=logits)
        np.add.reduce(logits, axis=1, keepdims=True, out=self.rowsum)
        np.log(self.rowsum, out=self.logsum)
        loss = (
            float(np.add.reduce(self.logsum, axis=None)) - float(np.add.reduce(self.picked))
        ) / n
        logits /= self.rowsum
        self.logits_flat[self.picked_index] -= 1.0
        logits *= self.lr / n  # dout scaled by lr: the gradients below come out as lr * grad
        dout = logits
        for i in range(last, -1, -1):
            W, b = self.params[i]
            x = self.acts[i - 1] if i else self.X
            dW, db = self.dWs[i], self.dbs[i]
            np.matmul(x.T, dout, out=dW)
            np.add.reduce(dout, axis=0, out=db)
            if i:
                din = self.dins[i]
                np.matmul(dout, W.T, out=din)
                mask = self.masks[i - 1]
                np.greater(x, 0.0, out=mask)  # x is the previous ReLU's output
                np.multiply(din, mask, out=din)
                dout = din
            W -= dW
            b -= db
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


class TorchLean(Torch):
    """PyTorch eager with the leanest update: ``p.add_(p.grad, alpha=-lr)`` under ``no_grad``
    (no ``optim.SGD`` and its bookkeeping), gradients reset to None before each backward."""

    def __init__(self, params, X: np.ndarray, y: np.ndarray, lr: float = LR) -> None:
        super().__init__(params, X, y, lr)
        self.params = list(self.model.parameters())
        self.lr = lr

    def step(self) -> float:
        for p in self.params:
            p.grad = None
        loss = self.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        with self.torch.no_grad():
            for p in self.params:
                p.add_(p.grad, alpha=-self.lr)
        return loss.item()


def torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


# ---------------------------------------------------------------------------- timing
#: The clocks a benchmark can time with. ``thread`` (the default) is the calling thread's CPU
#: time: on a shared machine another process's load does not count against a contender (it
#: still slows it through caches and memory bandwidth). It misses work done in other threads
#: (BLAS worker threads): with more than one BLAS thread use ``process`` (all threads' CPU
#: time, spinning workers included) or ``wall``.
CLOCKS: dict[str, Callable[[], float]] = {
    "thread": time.thread_time,
    "process": time.process_time,
    "wall": time.perf_counter,
}
CLOCK_NAMES = {
    "thread": "thread CPU time (`time.thread_time`)",
    "process": "process CPU time (`time.process_time`)",
    "wall": "wall-clock time (`time.perf_counter`)",
}


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)  # seconds per step, one per round

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


@dataclass(frozen=True)
class Ratio:
    """The per-round ratios of two contenders timed in the same rounds: median and range."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, a: Timing, b: Timing) -> Ratio:
        ratios = [x / y for x, y in zip(a.samples, b.samples, strict=True)]
        return cls(statistics.median(ratios), min(ratios), max(ratios))

    def __str__(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}–{self.high:.2f})"


def _time_block(step: Callable[[], object], n: int, clock: Callable[[], float]) -> float:
    start = clock()
    for _ in range(n):
        step()
    return (clock() - start) / n


def calibrate(
    step: Callable[[], object],
    target_s: float,
    clock: Callable[[], float] = time.perf_counter,
    samples: int = 5,
) -> int:
    """Steps per timed block so that one block of ``step`` takes about ``target_s``.

    The block is grown until it takes a quarter of the target, then timed ``samples`` times;
    the median of those sets the size (one sample is at the mercy of one interruption).
    """
    n = 1
    while True:
        elapsed = _time_block(step, n, clock) * n
        if elapsed >= target_s / 4 or n >= 1 << 16:
            break
        n *= 4
    per_step = statistics.median(_time_block(step, n, clock) for _ in range(samples))
    return max(1, int(target_s / max(per_step, 1e-9)))


def interleaved(
    steps: dict[str, Callable[[], object]],
    rounds: int,
    target_s: float,
    gap_s: float = 0.2,
    warmup: int = 3,
    clock: str = "thread",
    units: dict[str, int] | None = None,
) -> dict[str, Timing]:
    """Time each step in blocks, alternating the order of the contenders round by round.

    ``units[name]``: training steps one call of that contender does (default 1); its times
    are divided by it, and its blocks have as many calls as make the same number of steps.

    Before each block the process sleeps ``gap_s``: BLAS worker threads keep spinning for a
    while after their last call (OpenBLAS about 2**28 cycles, i.e. ~0.1 s; OpenMP too), and
    on a machine with few cores the previous contender's spinning threads would otherwise
    steal the next contender's cores (measured here: PyTorch 2-20x slower right after a NumPy
    block without the gap, unchanged with it).
    """
    timer = CLOCKS[clock]
    units = {name: (units or {}).get(name, 1) for name in steps}
    for step in steps.values():
        for _ in range(warmup):
            step()
    # one block size for all (in steps), set by the slowest, so every block sees similar
    # conditions
    n = min(calibrate(step, target_s, timer) * units[name] for name, step in steps.items())
    calls = {name: max(1, round(n / units[name])) for name in steps}
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
                per_call = _time_block(steps[name], calls[name], timer)
                timings[name].samples.append(per_call / units[name])
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


#: (model, baseline) -> (aim for scratchai / baseline, test of the median): the issue's targets.
AIMS: dict[tuple[str, str], tuple[str, Callable[[float], bool] | None]] = {
    ("lesson 128→64→10", "numpy_tuned"): ("≤ 1.25", lambda r: r <= 1.25),
    ("784→1024→1024→10", "numpy_tuned"): ("≤ 1.05", lambda r: r <= 1.05),
    ("lesson 128→64→10", "torch_lean"): ("< 1", lambda r: r < 1),
    ("784→256→10", "torch_lean"): ("< 1", lambda r: r < 1),
}
BASELINES = {
    "numpy": "hand-written NumPy",
    "numpy_tuned": "tuned hand-written NumPy (`out=` buffers)",
    "torch": "PyTorch eager + `optim.SGD`",
    "torch_lean": "PyTorch eager + `p.add_(g, alpha=-lr)`",
}


def verdict(ratio: Ratio, aim: tuple[str, Callable[[float], bool] | None] | None) -> str:
    """``met`` / ``missed`` (judged on the median) / ``-`` without an aim."""
    if aim is None or aim[1] is None:
        return "-"
    return "met" if aim[1](ratio.median) else "**missed**"


def run(
    quick: bool = False,
    use_torch: bool = True,
    shapes: list[tuple[str, tuple[int, ...], int]] | None = None,
    rounds: int | None = None,
    target_s: float | None = None,
    gap_s: float | None = None,
    clock: str = "thread",
    out: Any = sys.stdout,
) -> list[dict[str, Any]]:
    """Measure every shape; print the Markdown tables to ``out`` and return the rows.

    Each row: shape, batch, the median seconds per step of "scratchai", "numpy",
    "numpy_tuned", "torch" and "torch_lean" (None without PyTorch), ``ratios`` (baseline ->
    ``Ratio`` of scratchai to it: median of the per-round ratios and their range), "vs_numpy"
    and "vs_torch" (medians), and "loss_diff", the largest difference between the
    contenders' losses after their first step (they must agree).
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
            "numpy_tuned": TunedHandWritten(params, X, y),
        }
        if with_torch:
            contenders["torch"] = Torch(params, X, y)
            contenders["torch_lean"] = TorchLean(params, X, y)
        first_losses = [c.step() for c in contenders.values()]
        steps = {name: c.step for name, c in contenders.items()}
        timings = interleaved(steps, rounds, target_s, gap_s, clock=clock)
        ratios = {
            name: Ratio.of(timings["scratchai"], timings[name])
            for name in BASELINES
            if name in timings
        }
        row: dict[str, Any] = {"shape": label, "batch": batch, "ratios": ratios}
        for name in ("scratchai", *BASELINES):
            row[name] = timings[name].median if name in timings else None
        row["vs_numpy"] = ratios["numpy"].median
        row["vs_torch"] = ratios["torch"].median if "torch" in ratios else None
        row["loss_diff"] = max(first_losses) - min(first_losses)
        rows.append(row)

    names = ("scratchai", *BASELINES)
    print(
        "| model | batch | scratchai | hand-written NumPy | tuned NumPy | torch + SGD | "
        "torch lean | scratchai / NumPy | / tuned NumPy | / torch + SGD | / torch lean |",
        file=out,
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", file=out)
    for row in rows:
        times = " | ".join(_fmt_time(row[name]) for name in names)
        ratio_cells = " | ".join(
            str(row["ratios"][name]) if name in row["ratios"] else "-" for name in BASELINES
        )
        print(f"| {row['shape']} | {row['batch']} | {times} | {ratio_cells} |", file=out)
    print(file=out)
    agreement = max(row["loss_diff"] for row in rows)
    print(
        f"Per-step times: median of {rounds} interleaved rounds per contender, "
        f"{CLOCK_NAMES[clock]}. Ratios: median of the per-round ratios (range in brackets). "
        f"The first-step losses of the contenders agree within {agreement:.1e}.",
        file=out,
    )
    print("\nRows for the README's Performance table (this run):\n", file=out)
    print("| what | measured | aim | |", file=out)
    print("|---|---:|---:|---|", file=out)
    for row in rows:
        for name, ratio in row["ratios"].items():
            aim = AIMS.get((row["shape"], name))
            print(
                f"| training step, {row['shape']}, scratchai / {BASELINES[name]} | "
                f"{ratio.median:.2f} | {aim[0] if aim else '-'} | {verdict(ratio, aim)} |",
                file=out,
            )
    print(file=out)
    for line in blas_info():
        print(f"- {line}", file=out)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds (smoke test)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 11, quick 3)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="cap BLAS and PyTorch threads (default 1; 0: leave them as they are)",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        help="thread CPU time (default with 1 thread), process CPU time (default otherwise), wall",
    )
    args = parser.parse_args(argv)
    if args.threads:
        limit_threads(args.threads)
    clock = args.clock or ("thread" if args.threads == 1 else "process")
    run(quick=args.quick, use_torch=not args.no_torch, rounds=args.rounds, clock=clock)
    return 0


if __name__ == "__main__":
    sys.exit(main())
