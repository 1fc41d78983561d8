"""Grading a learner's ``mynn.py``: import it, run an exercise's tests, say what is wrong.

The grader checks behaviour, never source text: each test builds small models from the
learner's classes, calls them and compares what comes back with what the lesson says (and
gradients with finite differences). A test fails with ``Fail(message)``: what was expected,
what came back, and the lesson's concept behind it.
"""

from __future__ import annotations

import re
import signal
import threading
import traceback
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scratchai.engine.experiment import import_user_file

_STUB = re.compile(r"^exercise (\d+)\b")

PASS, FAIL, NOT_STARTED = "pass", "fail", "not started"


class Fail(Exception):
    """A graded test failed; the message is what the learner reads."""


class LearnerImportError(Exception):
    """The learner's file could not be imported; the message is the traceback cut to it."""


@dataclass(frozen=True)
class GradedTest:
    exercise: int
    label: str
    run: Callable[[types.ModuleType], None]


@dataclass
class Exercise:
    """One exercise: what it asks, its hint, and how to tell a stub from a started one."""

    number: int
    title: str
    asks: str
    hint: str
    #: calls of the exercise's own entry points; all raising its NotImplementedError = a stub
    probes: Callable[[types.ModuleType], list[Callable[[], Any]]]
    tests: list[GradedTest] = field(default_factory=list)


EXERCISES: dict[int, Exercise] = {}


def graded(exercise: int, label: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as a graded test of ``exercise``."""

    def register(fn: Callable[[types.ModuleType], None]) -> Callable:
        EXERCISES[exercise].tests.append(GradedTest(exercise, label, fn))
        return fn

    return register


@dataclass(frozen=True)
class Outcome:
    exercise: int
    label: str
    status: str  # PASS, FAIL or NOT_STARTED
    message: str = ""


def load_learner(path: Path) -> types.ModuleType:
    """Import the learner's file as a fresh module (its folder importable, as for ``python``)."""
    return import_user_file(path.resolve(), "scratchtui_learner", LearnerImportError)


def stub_of(exc: BaseException) -> int | None:
    """The exercise whose stub raised ``exc``, or None for any other error."""
    if isinstance(exc, NotImplementedError):
        match = _STUB.match(str(exc))
        if match:
            return int(match.group(1))
    return None


def where_in(exc: BaseException, learner: types.ModuleType) -> str:
    """' (mynn.py:42 in backward)': the last line of the learner's file the error went through."""
    file = getattr(learner, "__file__", None)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    if not frames:
        return ""
    last = frames[-1]
    return f" ({Path(last.filename).name}:{last.lineno} in {last.name})"


def is_stub(exercise: Exercise, learner: types.ModuleType) -> bool:
    """Every entry point of the exercise still raises its own NotImplementedError."""
    try:
        probes = exercise.probes(learner)
    except Exception:
        return False
    for probe in probes:
        try:
            result = probe()
            if isinstance(result, Iterable) and not isinstance(result, (str, dict, np.ndarray)):
                list(result)  # a generator runs its body only when iterated
        except Exception as exc:
            if stub_of(exc) == exercise.number:
                continue
            return False
        return False
    return True


#: Seconds a graded test may take: the lesson's tests take milliseconds; more is a loop.
TIME_LIMIT = 10.0


class TookTooLong(Exception):
    """A graded test ran past ``TIME_LIMIT``."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TookTooLong`` in the code under test after ``seconds`` (main thread only: a
    grader run from another thread just waits)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TookTooLong(f"took over {seconds:g} s: an endless loop?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_test(test: GradedTest, learner: types.ModuleType) -> Outcome:
    try:
        with np.errstate(all="ignore"), time_limit(TIME_LIMIT):
            test.run(learner)
    except Fail as failure:
        return Outcome(test.exercise, test.label, FAIL, str(failure))
    except Exception as exc:
        stub = stub_of(exc)
        if stub == test.exercise:
            return Outcome(test.exercise, test.label, NOT_STARTED, f"{exc} is still a stub")
        if stub is not None:
            return Outcome(
                test.exercise, test.label, FAIL, f"needs exercise {stub} first ({exc} is a stub)"
            )
        return Outcome(
            test.exercise,
            test.label,
            FAIL,
            f"raised {type(exc).__name__}: {exc}{where_in(exc, learner)}",
        )
    return Outcome(test.exercise, test.label, PASS)


def grade(exercise: Exercise, learner: types.ModuleType) -> list[Outcome]:
    """One outcome per test; a single NOT_STARTED outcome when the exercise is a stub."""
    if is_stub(exercise, learner):
        return [Outcome(exercise.number, exercise.title, NOT_STARTED)]
    return [run_test(test, learner) for test in exercise.tests]


def need(learner: types.ModuleType, name: str) -> Any:
    """``learner.name``, or a failure saying the file lacks it."""
    value = getattr(learner, name, None)
    if value is None:
        raise Fail(f"mynn.py defines no {name}: keep the names of the stub file")
    return value


def registry(module: Any, name: str) -> dict:
    """The learner's ``_parameters`` / ``_modules`` / ``_buffers``: named by the exercise's
    contract (the lesson's three dictionaries), so the grader reads them by name."""
    found = getattr(module, name, None)
    if not isinstance(found, dict):
        raise Fail(
            f"{type(module).__name__} has no dict {name} (it has {type(found).__name__}): "
            "Module.__init__ creates the three registries _parameters, _modules, _buffers "
            "(exercise 2)"
        )
    return found


def numeric_grad(f: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """Central finite differences of ``f()`` w.r.t. every entry of ``array`` (changed in place
    and restored), dividing by the step actually stored (float32 rounds ``x + eps``)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat = array.reshape(-1)  # a view: writing into it changes the array f reads
    for i in range(flat.size):
        old = flat[i].item()
        flat[i] = old + eps
        up, f_up = flat[i].item(), f()
        flat[i] = old - eps
        down, f_down = flat[i].item(), f()
        flat[i] = old
        grad.reshape(-1)[i] = (f_up - f_down) / (up - down)
    return grad


def close(actual: Any, expected: np.ndarray, rtol: float = 1e-4) -> bool:
    """Same shape and values within ``rtol`` of the largest expected magnitude."""
    actual = np.asarray(actual, dtype=np.float64)
    if actual.shape != expected.shape:
        return False
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-8)
    return bool(np.all(np.abs(actual - expected) <= rtol * scale))


def show(array: Any, digits: int = 4) -> str:
    """A short rendering of an array for a message: its first few values."""
    arr = np.asarray(array, dtype=np.float64).reshape(-1)
    head = ", ".join(f"{v:.{digits}g}" for v in arr[:4])
    return f"[{head}{', ...' if arr.size > 4 else ''}]"


def shape_of(value: Any) -> str:
    shape = getattr(value, "shape", None)
    return str(tuple(shape)) if shape is not None else type(value).__name__
