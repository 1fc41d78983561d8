"""Two versions of scratchai side by side: the bare and probed steps and ``l``, before and after.

Each version (a source tree, or a git revision checked out for the run in a temporary
``git worktree``) is imported by its own worker process; this process only drives them. Only
one worker runs at a time: the driver asks each in turn to time a block of calls and reads the
answer, the other waits on its pipe. Per round, every contender is timed in both versions back
to back (before, after; then after, before in the next contender, and the order of the
contenders reverses from round to round), each block of the same number of calls in both.

The contenders are the other scripts' own definitions, imported from this folder (only
``scratchai`` comes from the version's tree):

- ``numpy tuned``: ``step_time.TunedHandWritten`` on the lesson's 128→64→10 at batch 32. It does
  not use scratchai: its after/before ratio shows how far the two workers' conditions differ.
- ``core step``: ``step_time.ScratchAI``, the scratchai step on a fixed batch (no engine).
- ``bare``: ``probe_cost.bare_step`` on the ``mlp`` demo (loader, zero_grad, forward, loss,
  backward, update): the step the probed ones are divided by.
- ``n``: ``Stepper.advance(Granularity.BATCH)`` with the default settings (probes, snapshots).
- ``run``: ``Stepper.run(max_steps=25)``, per batch (run mode, headless).
- ``l``: one whole batch by ``advance(Granularity.LAYER)`` (10 advances), per layer event
  (6: three modules forward and backward).
- ``deep bare``, ``deep step``, ``deep l``: the same on ``scaling.deep_experiment`` (100
  ``Linear(16, 16)``/``ReLU`` pairs, 200 modules, batch 16), per module (``l``: per layer
  event, 400 a batch).

Clock: the thread's CPU time (``time.thread_time``), except for ``l``: there the code before
issue 21 ran each pass in a second thread, which the calling thread's clock would miss, so
``l`` is timed by the process's CPU time (``time.process_time``; BLAS is held at one thread
through ``OPENBLAS_NUM_THREADS=1``/``OMP_NUM_THREADS=1``). Each worker times every block with
all three clocks (the wall-clock ``l`` is printed too: what a person waits, noisy on a shared
machine). A ratio is the median of the per-round ratios, with their range.

With ``--instructions`` each version's contenders also run under valgrind's callgrind, which
counts the instructions they execute (all threads): the same in every run, so a difference of
a percent shows, which the timings on a loaded machine cannot resolve (``--rounds 0``: the
count alone, ~4 minutes). ``--profile NAME`` adds a cProfile of one contender in each version.

    python benchmarks/before_after.py --before e25213b            # ~1.5 minutes
    python benchmarks/before_after.py --before e25213b --quick    # a few seconds, noisy
    python benchmarks/before_after.py --before e25213b --after HEAD --rounds 0 --instructions
    python benchmarks/before_after.py --before /tmp/before --only "n,bare" --profile n

``--before``/``--after``: a directory holding ``scratchai/`` or a git revision (default for
``--after``: this checkout, uncommitted changes included; pass ``HEAD`` to leave them out).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
LESSON = ((128, 64, 10), 32)
DEEP_PAIRS = 100
CHUNK = 25  # batches per run() call, as probe_cost times it


@dataclass(frozen=True)
class Contender:
    name: str
    clock: str  # "thread" or "process"
    unit: str  # what one timed unit is, for the table
    per: str  # the key of the worker's count that a call's time is divided by


CONTENDERS = (
    Contender("numpy tuned", "thread", "step", "one"),
    Contender("core step", "thread", "step", "one"),
    Contender("bare", "thread", "step", "one"),
    Contender("run", "thread", "step", "chunk"),
    Contender("n", "thread", "step", "one"),
    Contender("l", "process", "layer event", "lesson_events"),
    Contender("deep bare", "thread", "module", "deep_modules"),
    Contender("deep step", "thread", "module", "deep_modules"),
    Contender("deep l", "process", "layer event", "deep_events"),
)
#: (contender, divided by, what, aim, test of the median): the aims of the issues.
WITHIN = (
    (
        "run",
        "bare",
        "probed step in run mode (`run()`) / bare step, lesson MLP",
        "≤ 1.5 (issue 21: ≤ 1.8)",
        lambda r: r <= 1.5,
    ),
    (
        "n",
        "bare",
        "probed single step (`n`: `advance(BATCH)`) / bare step, lesson MLP",
        "≤ 1.8",
        lambda r: r <= 1.8,
    ),
    (
        "core step",
        "numpy tuned",
        "core step / tuned hand-written NumPy, lesson MLP",
        "≤ 1.25",
        lambda r: r <= 1.25,
    ),
    (
        "deep step",
        "deep bare",
        f"probed step / bare step, {DEEP_PAIRS} Linear+ReLU pairs",
        "",
        None,
    ),
)

#: (probed, bare): the engine's own work per step is their difference, round by round.
OWN_WORK = (("run", "bare"), ("n", "bare"), ("deep step", "deep bare"))


# ---------------------------------------------------------------------------- the worker
def _worker(tree: str) -> int:
    """Build the contenders with the scratchai of ``tree`` and time blocks on request.

    Requests on stdin, one JSON object a line: ``{"calibrate": name, "target": s}`` ->
    ``{"calls": n}``; ``{"time": name, "calls": n}`` -> ``{"thread": s, "process": s,
    "wall": s}`` per call; ``{"profile": name, "calls": n, "top": k}`` -> ``{"text": ...}``;
    ``{"info": true}`` -> the tree's facts. Everything else printed goes to stderr.
    """
    answers = sys.stdout
    sys.stdout = sys.stderr
    import scratchai as sa

    where = Path(sa.__file__).resolve()
    if not where.is_relative_to(Path(tree).resolve()):
        raise SystemExit(f"scratchai came from {where}, not from {tree}")
    from probe_cost import NO_BREAKPOINTS, bare_step, lesson_experiment
    from scaling import _batch_by, deep_experiment, modules_of
    from step_time import ScratchAI, TunedHandWritten, blas_info, make_problem

    from scratchai.engine import Granularity, Stepper

    steppers: list[Any] = []

    def stepper(experiment) -> Any:
        s = Stepper(experiment, None, NO_BREAKPOINTS)
        s.advance(Granularity.BATCH)  # registration and a first batch
        steppers.append(s)
        return s

    def run_chunks(s) -> Callable[[], None]:
        def call() -> None:
            before = s.step
            s.run(max_steps=CHUNK)
            if s.step - before != CHUNK:
                raise RuntimeError(f"run(max_steps={CHUNK}) trained {s.step - before}")

        return call

    def layers(s, events: int) -> Callable[[], int]:
        batch = _batch_by(s, Granularity.LAYER)
        # count the layer events of one batch (the views see them all at its last reveal)
        target, seen = s.step + 1, 0
        while s.step < target:
            s.advance(Granularity.LAYER)
            seen = max(seen, len(s.layer_events))
        if seen != events:
            raise RuntimeError(f"a batch showed {seen} layer events, not {events}")
        return batch

    counts = {
        "one": 1,
        "chunk": CHUNK,
        "lesson_events": 2 * 3,  # Linear, ReLU, Linear: forward and backward
        "deep_modules": modules_of(DEEP_PAIRS),
        "deep_events": 2 * modules_of(DEEP_PAIRS),
    }
    problem = make_problem(*LESSON)
    # built on first use, so that a run of a few contenders builds only those
    makers: dict[str, Callable[[], Callable[[], object]]] = {
        "numpy tuned": lambda: TunedHandWritten(*problem).step,
        "core step": lambda: ScratchAI(*problem).step,
        "bare": lambda: bare_step(lesson_experiment()),
        "n": lambda: functools.partial(stepper(lesson_experiment()).advance, Granularity.BATCH),
        "run": lambda: run_chunks(stepper(lesson_experiment())),
        "l": lambda: layers(stepper(lesson_experiment()), counts["lesson_events"]),
        "deep bare": lambda: bare_step(deep_experiment(DEEP_PAIRS)),
        "deep step": lambda: functools.partial(
            stepper(deep_experiment(DEEP_PAIRS)).advance, Granularity.BATCH
        ),
        "deep l": lambda: layers(stepper(deep_experiment(DEEP_PAIRS)), counts["deep_events"]),
    }
    calls: dict[str, Callable[[], object]] = {}

    def contender(name: str) -> Callable[[], object]:
        if name not in calls:
            calls[name] = call = makers[name]()
            for _ in range(3):  # warm up
                call()
        return calls[name]

    def block(name: str, n: int) -> dict[str, float]:
        call = contender(name)
        gc.collect()  # a collection inside a block would be charged to it alone
        gc.disable()
        try:
            t0, p0, w0 = time.thread_time(), time.process_time(), time.perf_counter()
            for _ in range(n):
                call()
            t1, p1, w1 = time.thread_time(), time.process_time(), time.perf_counter()
        finally:
            gc.enable()
        return {"thread": (t1 - t0) / n, "process": (p1 - p0) / n, "wall": (w1 - w0) / n}

    while line := sys.stdin.readline():
        request = json.loads(line)
        if "calibrate" in request:
            name, target = request["calibrate"], request["target"]
            n = 1
            while block(name, n)["process"] * n < target / 4 and n < 1 << 14:
                n *= 4
            per_call = statistics.median(block(name, n)["process"] for _ in range(3))
            answer: dict[str, Any] = {"calls": max(1, int(target / max(per_call, 1e-9)))}
        elif "time" in request:
            answer = block(request["time"], request["calls"])
        elif "profile" in request:
            answer = {
                "text": _profile(
                    contender(request["profile"]), request["calls"], request["top"], tree
                )
            }
        elif "count" in request:  # under callgrind: a dump before each getppid() (see count)
            todo = [(contender(name), n) for name, n in request["count"]]  # built, warmed up
            gc.collect()
            gc.disable()
            for call, n in todo:
                os.getppid()
                for _ in range(n):
                    call()
            os.getppid()
            gc.enable()
            answer = {"counted": len(todo)}
        elif "info" in request:
            answer = {"scratchai": str(where.parent), "counts": counts, "blas": blas_info()}
        else:
            break
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    for s in steppers:
        s.close()
    return 0


def _profile(call: Callable[[], object], n: int, top: int, tree: str) -> str:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        call()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    lines = text.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "function calls" in line), 0)
    root = str(Path(tree).resolve()) + "/"
    return "\n".join(line.replace(root, "") for line in lines[start:] if line.strip())


class Worker:
    """A worker process importing the scratchai of ``tree`` (run under ``prefix``, if any)."""

    def __init__(self, label: str, tree: Path, prefix: tuple[str, ...] = ()) -> None:
        self.label, self.tree = label, tree
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [env.get("PYTHONPATH")])])
        env["OPENBLAS_NUM_THREADS"] = env["OMP_NUM_THREADS"] = "1"
        env["PYTHONHASHSEED"] = "0"  # the same set and dict orders in every run
        self.process = subprocess.Popen(
            [*prefix, sys.executable, str(Path(__file__).resolve()), "--worker", str(tree)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.label} worker ({self.tree}) ended: see its stderr")
        return json.loads(line)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---------------------------------------------------------------------------- instructions
#: Calls per contender counted under callgrind (a few ms to a few tens of ms natively each).
COUNT_CALLS = {
    "numpy tuned": 200,
    "core step": 200,
    "bare": 200,
    "run": 8,
    "n": 100,
    "l": 20,
    "deep bare": 10,
    "deep step": 5,
    "deep l": 2,
}


def count_instructions(tree: Path, names: list[str], quick: bool = False) -> dict[str, float]:
    """Instructions per unit of each contender (every thread's), counted by valgrind's
    callgrind: deterministic, so untouched by the other load on the machine.

    The worker runs under ``valgrind --tool=callgrind --dump-before=getppid`` and calls
    ``os.getppid()`` before each contender's calls and after the last: each dump holds the
    instructions since the one before, i.e. one contender's calls.
    """
    with tempfile.TemporaryDirectory(prefix="callgrind-") as folder:
        out = Path(folder) / "cg.out"
        prefix = (
            "valgrind",
            "--tool=callgrind",
            "--dump-before=getppid",
            f"--callgrind-out-file={out}",
            f"--log-file={Path(folder) / 'valgrind.log'}",
        )
        worker = Worker("callgrind", tree, prefix)
        try:
            counts = worker.ask(info=True)["counts"]
            plan = [(name, max(1, COUNT_CALLS[name] // (4 if quick else 1))) for name in names]
            worker.ask(count=plan)
        finally:
            worker.close()
        dumps = sorted(Path(folder).glob("cg.out.*"), key=lambda p: int(p.suffix[1:]))
        totals = [_callgrind_total(dump) for dump in dumps]
    segments = [t for t in totals if t > 10_000][1:]  # the first: start-up; tiny: the marker
    if len(segments) != len(plan):
        raise RuntimeError(f"callgrind gave {len(segments)} segments for {len(plan)} contenders")
    by_name = {c.name: c for c in CONTENDERS}
    return {
        name: total / n / counts[by_name[name].per]
        for (name, n), total in zip(plan, segments, strict=True)
    }


def _callgrind_total(dump: Path) -> int:
    with dump.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.startswith(("totals:", "summary:")):
                return int(line.split()[1])
    return 0


def instructions_table(
    trees: dict[str, Path], names: list[str], quick: bool, out: TextIO
) -> dict[str, dict[str, float]]:
    found = {label: count_instructions(tree, names, quick) for label, tree in trees.items()}
    by_name = {c.name: c for c in CONTENDERS}
    print("\n| contender | per | instructions before | after | after / before |", file=out)
    print("|---|---|---:|---:|---:|", file=out)
    for name in names:
        b, a = found["before"][name], found["after"][name]
        print(f"| {name} | {by_name[name].unit} | {b:,.0f} | {a:,.0f} | {a / b:.3f} |", file=out)
    print(
        "\nInstructions executed (all threads), counted by valgrind's callgrind: the same in "
        "every run, whatever else the machine does; not a time (cache misses and the like "
        "do not show), but at the lesson's sizes the step is Python's own work.",
        file=out,
    )
    return found


# ---------------------------------------------------------------------------- the trees
@contextlib.contextmanager
def source_tree(spec: str | None) -> Iterator[tuple[Path, str]]:
    """The directory of ``spec`` (a directory, a git revision, or None for this checkout) and
    how to name it; a revision is checked out in a temporary worktree, removed afterwards."""
    if spec is None:
        yield ROOT, f"this checkout ({_describe(ROOT)})"
        return
    path = Path(spec)
    if (path / "scratchai").is_dir():
        yield path.resolve(), f"{path} ({_describe(path)})"
        return
    with tempfile.TemporaryDirectory(prefix="scratchai-") as parent:
        tree = Path(parent) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), spec],
            check=True,
        )
        try:
            yield tree, f"{spec} ({_describe(tree)})"
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )


def _describe(tree: Path) -> str:
    found = subprocess.run(
        ["git", "-C", str(tree), "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    text = found.stdout.strip() or "not a git checkout"
    dirty = subprocess.run(
        ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return (text[:60] + ("…" if len(text) > 60 else "")) + (
        ", with uncommitted changes" if dirty else ""
    )


# ---------------------------------------------------------------------------- the driver
@dataclass(frozen=True)
class Spread:
    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: list[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))

    def __str__(self) -> str:
        return f"{self.median:.2f} ({self.low:.2f}–{self.high:.2f})"


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def measure(
    workers: dict[str, Worker],
    rounds: int,
    target_s: float,
    names: tuple[str, ...] | None = None,
) -> dict[str, dict[str, list[dict[str, float]]]]:
    """Per contender and version, one timing (seconds per unit, every clock) per round."""
    contenders = [c for c in CONTENDERS if names is None or c.name in names]
    labels = list(workers)
    counts = {label: w.ask(info=True)["counts"] for label, w in workers.items()}
    blocks = {
        c.name: min(w.ask(calibrate=c.name, target=target_s)["calls"] for w in workers.values())
        for c in contenders
    }
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        c.name: {label: [] for label in labels} for c in contenders
    }
    flip = 0
    for r in range(rounds):
        for c in contenders if r % 2 == 0 else contenders[::-1]:
            order = labels if flip % 2 == 0 else labels[::-1]
            flip += 1
            for label in order:
                per_call = workers[label].ask(time=c.name, calls=blocks[c.name])
                per = counts[label][c.per]
                samples[c.name][label].append({k: v / per for k, v in per_call.items()})
    return samples


def report(
    samples: dict[str, dict[str, list[dict[str, float]]]],
    names: dict[str, str],
    rounds: int,
    out: TextIO,
) -> dict[str, Any]:
    """Print the tables; return the medians and ratios."""
    before, after = "before", "after"
    found: dict[str, Any] = {"versus": {}, "within": {}, "own": {}}
    print(f"- before: {names[before]}\n- after: {names[after]}\n", file=out)
    print("| contender | per | before | after | after / before |", file=out)
    print("|---|---|---:|---:|---:|", file=out)
    by_name = {c.name: c for c in CONTENDERS}
    for name, versions in samples.items():
        c = by_name[name]
        b = [s[c.clock] for s in versions[before]]
        a = [s[c.clock] for s in versions[after]]
        ratio = Spread.of([x / y for x, y in zip(a, b, strict=True)])
        found["versus"][name] = (statistics.median(b), statistics.median(a), ratio)
        clock = "" if c.clock == "thread" else f" ({c.clock} CPU)"
        print(
            f"| {name}{clock} | {c.unit} | {_fmt(statistics.median(b))} | "
            f"{_fmt(statistics.median(a))} | {ratio} |",
            file=out,
        )
    for name in ("l", "deep l"):
        if name in samples:
            b = statistics.median(s["wall"] for s in samples[name][before])
            a = statistics.median(s["wall"] for s in samples[name][after])
            ratio = Spread.of(
                [
                    x["wall"] / y["wall"]
                    for x, y in zip(samples[name][after], samples[name][before], strict=True)
                ]
            )
            print(
                f"| {name} (wall-clock) | layer event | {_fmt(b)} | {_fmt(a)} | {ratio} |", file=out
            )
    print(
        f"\nMedians of {rounds} rounds; thread CPU time unless marked; after / before: median "
        "of the per-round ratios (range). `numpy tuned` uses no scratchai: it shows how much the "
        "two workers' conditions differ.\n",
        file=out,
    )
    rows = [w for w in WITHIN if w[0] in samples and w[1] in samples]
    if rows:
        print("| ratio, each version's own rounds | before | after | aim | after |", file=out)
        print("|---|---:|---:|---:|---|", file=out)
    for top, bottom, what, aim, ok in rows:
        clock = by_name[top].clock
        spreads = {}
        for label in (before, after):
            spreads[label] = Spread.of(
                [
                    x[clock] / y[clock]
                    for x, y in zip(samples[top][label], samples[bottom][label], strict=True)
                ]
            )
        found["within"][top] = spreads
        verdict = "-" if ok is None else ("met" if ok(spreads[after].median) else "**missed**")
        print(
            f"| {what} | {spreads[before]} | {spreads[after]} | {aim or '-'} | {verdict} |",
            file=out,
        )
    own = [(top, bottom) for top, bottom in OWN_WORK if top in samples and bottom in samples]
    if own:
        print(
            "\n| the engine's own work (probed minus bare, per round) | before | after | "
            "after / before |\n|---|---:|---:|---:|",
            file=out,
        )
    for top, bottom in own:
        extra = {
            label: [
                x["thread"] - y["thread"]
                for x, y in zip(samples[top][label], samples[bottom][label], strict=True)
            ]
            for label in (before, after)
        }
        ratio = Spread.of([a / b for a, b in zip(extra[after], extra[before], strict=True)])
        found["own"][top] = ratio
        unit = by_name[top].unit
        print(
            f"| `{top}` − `{bottom}`, per {unit} | {_fmt(statistics.median(extra[before]))} | "
            f"{_fmt(statistics.median(extra[after]))} | {ratio} |",
            file=out,
        )
    return found


def run(
    before: str | None,
    after: str | None = None,
    quick: bool = False,
    rounds: int | None = None,
    target_s: float | None = None,
    names: tuple[str, ...] | None = None,
    profile: str | None = None,
    instructions: bool = False,
    out: TextIO = sys.stdout,
) -> dict[str, Any]:
    rounds = rounds if rounds is not None else (2 if quick else 31)
    target_s = target_s if target_s is not None else (0.01 if quick else 0.05)
    with (
        source_tree(before) as (before_tree, before_name),
        source_tree(after) as (
            after_tree,
            after_name,
        ),
    ):
        workers = {"before": Worker("before", before_tree), "after": Worker("after", after_tree)}
        try:
            found: dict[str, Any] = {}
            if rounds:
                samples = measure(workers, rounds, target_s, names)
                found = report(samples, {"before": before_name, "after": after_name}, rounds, out)
            else:
                print(f"- before: {before_name}\n- after: {after_name}", file=out)
            print(file=out)
            for line in workers["after"].ask(info=True)["blas"]:
                print(f"- {line}", file=out)
            if instructions:
                found["instructions"] = instructions_table(
                    {"before": before_tree, "after": after_tree},
                    [c.name for c in CONTENDERS if names is None or c.name in names],
                    quick,
                    out,
                )
            if profile:
                for label, worker in workers.items():
                    text = worker.ask(profile=profile, calls=200 if quick else 2000, top=25)["text"]
                    print(
                        f"\ncProfile of `{profile}`, {label}, by own time:\n```\n{text}\n```",
                        file=out,
                    )
        finally:
            for worker in workers.values():
                worker.close()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--before", help="a directory or a git revision")
    parser.add_argument("--after", help="a directory or a git revision (default: this checkout)")
    parser.add_argument("--quick", action="store_true", help="2 short rounds; noisy")
    parser.add_argument("--rounds", type=int, help="timed rounds (0: no timing)")
    parser.add_argument("--only", help="comma-separated contenders (default: all)")
    parser.add_argument("--profile", help="a contender to profile in both versions afterwards")
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)
    if not args.before:
        parser.error("--before is needed (a directory or a git revision, e.g. e25213b)")
    names = tuple(n.strip() for n in args.only.split(",")) if args.only else None
    run(
        args.before,
        args.after,
        quick=args.quick,
        rounds=args.rounds,
        names=names,
        profile=args.profile,
        instructions=args.instructions,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
