"""The backward check: every module's ``backward`` against central finite differences, in isolation.

A hand-written backward is the likeliest bug in a learner's model, and a whole-model gradcheck
only says that *something* is wrong. Here each module is checked on its own, on the inputs it
received in a real forward of the current batch, so the module at fault is the one named.

For each module: a float64 copy of the model runs the batch once (recording every module's
input), then the module alone is differentiated as ``f = sum(module(x) * R)`` with a fixed random
``R`` (so ``module.backward(R)`` must return ``df/dx``). A bounded number of entries per tensor
is sampled, so the check stays fast on big layers. Besides the values it checks that the
backward returns the input's shape, adds into ``.grad`` rather than assigning it, and keeps one
saved state per call (a module called twice in one forward must back-propagate each call).

Nothing of the caller's model changes: the check works on a copy, and puts the library's random
generator back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratchai.call_state import no_grad
from scratchai.engine.checks.diagnose import describe_mismatch, shape_problem
from scratchai.engine.checks.differences import sampled_differences
from scratchai.engine.checks.raised import forward_raised, raised, raised_in
from scratchai.engine.stepping.interrupts import Interrupted
from scratchai.engine.timeline.randomness import RandomStates, capture_random, restore_random
from scratchai.module import Module
from scratchai.parameter import Parameter

DEFAULT_TOLERANCE = 1e-4  # float64 central differences are good to ~1e-8 on smooth modules
DEFAULT_SAMPLES = 16  # entries per tensor: a wrong formula is wrong on nearly every entry
MAX_ROWS = 64  # rows of the batch used: every evaluation is a forward of the module alone
_FLOOR_RATIO = 1e-3  # entries below this fraction of the largest gradient: absolute error
#: The path a check of the experiment's loss is reported under (no module path looks like it).
LOSS_PATH = "(loss)"


@dataclass(frozen=True)
class TensorCheck:
    """One tensor of one module: the input (``"input"``) or one of its parameters (``"W"``).

    Attributes:
        max_rel_error: the worst relative error over the sampled entries (inf if the shape is
            wrong or the backward returned nothing).
        checked: how many entries were compared (non-smooth points such as a ReLU's kink
            are skipped).
    """

    name: str
    max_rel_error: float
    checked: int


@dataclass(frozen=True)
class ModuleCheck:
    """The backward check of one module.

    Attributes:
        path: the module's dotted path ('' is the model itself).
        tensors: the input first, then each parameter the module's backward writes.
        problems: what is wrong, in plain words (empty when it passed).
        skipped: why the module was not checked ('' when it was).
        raised: why the check could not finish: the user's code raised inside it, e.g. "its
            forward raised ValueError on a perturbed input: ..." ('' when it finished).
    """

    path: str
    type_name: str
    tensors: tuple[TensorCheck, ...]
    problems: tuple[str, ...]
    tolerance: float
    skipped: str = ""
    raised: str = ""

    @property
    def passed(self) -> bool:
        return not self.problems and not self.raised

    @property
    def finding(self) -> str:
        """What is wrong, in one line ('' when it passed)."""
        if self.raised:
            return f"the backward check could not finish: {self.raised}"
        return self.problems[0] if self.problems else ""

    @property
    def one_call_passes(self) -> bool:
        """The finite-difference errors of one call are within the tolerance (a failure is
        then found elsewhere, e.g. calling the module twice in one forward)."""
        return all(t.max_rel_error <= self.tolerance for t in self.tensors)

    @property
    def who(self) -> str:
        """``'1' (Linear)``, ``the model (Net)`` or ``the loss (MyCrossEntropy)``."""
        if self.path == LOSS_PATH:
            return f"the loss ({self.type_name})"
        return f"'{self.path}' ({self.type_name})" if self.path else f"the model ({self.type_name})"

    def summary(self) -> str:
        """One line: the module, the worst error per tensor, pass/fail against the tolerance."""
        who = self.who
        if self.skipped:
            return f"{who}: not checked: {self.skipped}"
        if self.raised:
            return f"{who}: could not finish: {self.raised}"
        errors = ", ".join(f"{t.name} {t.max_rel_error:.1e}" for t in self.tensors)
        measured = f"max relative error {errors}; tolerance {self.tolerance:g}"
        if self.passed:
            return f"{who}: ok ({measured})"
        if self.one_call_passes:  # the numbers would read as a pass: say what failed
            return f"{who}: FAIL: {self.problems[0]} (one call alone passes: {measured})"
        return f"{who}: FAIL ({measured})"


@dataclass(frozen=True)
class BackwardReport:
    """The backward check of a model: one ``ModuleCheck`` per module checked, in forward order."""

    modules: tuple[ModuleCheck, ...]
    tolerance: float
    error: str = ""  # why nothing could be checked ('' when the forward ran)
    error_path: str = ""  # the module whose forward raised then ('' the model's own code)

    @property
    def failed(self) -> tuple[ModuleCheck, ...]:
        return tuple(m for m in self.modules if not m.passed)

    @property
    def passed(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        if self.error:
            return f"not checked: {self.error}"
        lines = [m.summary() for m in self.modules]
        lines += [f"  '{m.path}': {p}" for m in self.failed for p in m.problems]
        return "\n".join(lines)


def is_library_module(module: Module) -> bool:
    """Whether ``module``'s class is one of scratchai's own (its backward is tested)."""
    return type(module).__module__.split(".")[0] == "scratchai"


def has_own_modules(model: Module) -> bool:
    """Whether the model holds a module whose class the user wrote (not scratchai's)."""
    return any(not is_library_module(m) for m in model.modules())


def float64_copy(model: Module) -> Module:
    """A deep copy of ``model`` with float64 parameters and buffers (sharing kept)."""
    copied = copy.deepcopy(model)
    for param in copied.parameters():
        # Re-initialising the copied Parameter keeps its identity, so ties survive.
        Parameter.__init__(param, param.data.astype(np.float64))
    for module in copied.modules():
        for name, buf in list(module.named_buffers(recurse=False)):
            persistent = module.is_persistent_buffer(name)
            module.register_buffer(name, buf.astype(np.float64), persistent=persistent)
    return copied


def check_backward(
    model: Module,
    x: np.ndarray,
    paths: Iterable[str] | None = None,
    *,
    samples: int = DEFAULT_SAMPLES,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
) -> BackwardReport:
    """Check the backward of each module of ``model`` on the batch ``x``.

    Args:
        model: the model (not changed: a float64 copy is checked).
        x: the batch, e.g. (batch, features), as the model's forward takes it (its first
            ``MAX_ROWS`` rows are used).
        paths: the module paths to check (default: every module called, except scratchai's own
            containers, whose backward is their children's).
        samples: entries compared per tensor.
        tolerance: the largest relative error that passes.
        seed: for the projection R and the sampled entries.
    """
    rng_state = capture_random()
    try:
        copied = float64_copy(model)
        names = {id(m): path for path, m in copied.named_modules()}
        try:
            rows = np.asarray(x, dtype=np.float64)[:MAX_ROWS]
            calls = _record_calls(copied, rows, rng_state)
        except Interrupted:
            raise  # the user stopped it: not a finding
        except BaseException as exc:  # the user's forward: reported, never swallowed
            where, path_of = "on a float64 copy of the batch", lambda m: names.get(id(m))
            error = forward_raised(exc, path_of, dict(copied.named_modules()), where)
            return BackwardReport((), tolerance, error, raised_in(exc, path_of) or "")
        wanted = None if paths is None else set(paths)
        results: list[ModuleCheck] = []
        seen: set[int] = set()
        for module, args, out in calls:
            path = names.get(id(module))
            if path is None or id(module) in seen:
                continue
            seen.add(id(module))
            if wanted is not None and path not in wanted:
                continue
            if wanted is None and is_library_module(module) and not module.is_leaf():
                continue
            reused = sum(m is module for m, _, _ in calls) > 1
            checker = _ModuleChecker(module, path, samples, tolerance, seed, rng_state, reused)
            try:
                results.append(checker.run(args, out))
            except Interrupted:
                raise  # the user stopped it: not a finding
            except BaseException as exc:  # its forward on perturbed inputs, say
                results.append(checker.could_not_finish(exc))
        return BackwardReport(_blame_children(tuple(results)), tolerance)
    finally:
        restore_random(rng_state)


def _record_calls(
    model: Module, x: np.ndarray, rng_state: RandomStates
) -> list[tuple[Module, tuple, Any]]:
    """Every module call of one forward of ``model`` on ``x``: (module, inputs, output)."""
    calls: list[tuple[Module, tuple, Any]] = []

    def record(module: Module, inputs: tuple, output: Any) -> None:
        calls.append((module, tuple(_copy(a) for a in inputs), output))

    restore_random(rng_state)
    with model.register_forward_hook(record, recurse=True), no_grad():
        model(x)
    return calls


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, np.ndarray) else value


def _blame_children(results: tuple[ModuleCheck, ...]) -> tuple[ModuleCheck, ...]:
    """A container fails when a module inside it does: name the inner module only."""
    failing = [m.path for m in results if not m.passed]
    out = []
    for m in results:
        inner = [p for p in failing if p != m.path and (m.path == "" or p.startswith(m.path + "."))]
        if not m.passed and inner:
            m = ModuleCheck(
                m.path,
                m.type_name,
                m.tensors,
                (),
                m.tolerance,
                f"its sub-module '{inner[0]}' fails",
            )
        out.append(m)
    return tuple(out)


class _TwoCalls(Module):
    """Calls a module twice within one forward (as a model that reuses a layer does)."""

    def __init__(self, module: Module) -> None:
        super().__init__()
        self.__dict__["inner"] = module  # not a child: this wrapper is not part of any tree

    def forward(self, x1: np.ndarray, x2: np.ndarray) -> tuple[Any, Any]:
        return self.inner(x1), self.inner(x2)


class _ModuleChecker:
    """Checks one module (of a float64 copy) on the input it received."""

    def __init__(
        self,
        module: Module,
        path: str,
        samples: int,
        tolerance: float,
        seed: int,
        rng_state: RandomStates,
        reused: bool = False,
    ) -> None:
        self.module = module
        # called more than once in the model's forward: each call's backward must use its own
        # values (state kept on the module breaks only then, so it is checked only then)
        self.reused = reused
        self.path = path
        self.samples = samples
        self.tolerance = tolerance
        self.rng = np.random.default_rng(seed)
        self.rng_state = rng_state
        self.params = list(module.named_parameters())
        self.buffers = [(b, b.copy()) for b in module.buffers()]
        # what the check is running of the user's code (an exception is reported with it)
        self.stage = ("forward", "on the input it received")

    def result(
        self, tensors: list[TensorCheck], problems: list[str], skipped: str = "", error: str = ""
    ) -> ModuleCheck:
        return ModuleCheck(
            self.path,
            type(self.module).__name__,
            tuple(tensors),
            tuple(problems),
            self.tolerance,
            skipped,
            error,
        )

    def could_not_finish(self, exc: BaseException) -> ModuleCheck:
        """The user's code raised inside the check: say what raised, on what, and why."""
        what, where = self.stage
        return self.result([], [], "", f"its {what} raised {raised(exc, where)}")

    def _reset(self) -> None:
        """The same function every evaluation: same random draws, same buffers."""
        restore_random(self.rng_state)
        for buf, saved in self.buffers:
            buf[...] = saved

    def _analytic(
        self, x: np.ndarray, projection: np.ndarray, after: np.ndarray | None = None
    ) -> tuple[Any, list[np.ndarray]]:
        """One forward and backward from zero gradients: (input grad, parameter grads).

        ``after``: run a forward of it first (no backward), so that random draws (Dropout)
        are those a second call in the same forward would make.
        """
        for _, p in self.params:
            p.zero_grad()
        self._reset()
        self.stage = ("forward", "on the input it received")
        if after is not None:
            with no_grad():
                self.module(after)
        self.module(x)
        self.stage = ("backward", "")
        grad_x = self.module.backward(projection)
        return grad_x, [p.grad.copy() for _, p in self.params]

    def run(self, args: tuple, out: Any) -> ModuleCheck:
        if len(args) != 1 or not isinstance(args[0], np.ndarray):
            return self.result([], [], f"its forward takes {len(args)} arguments, not one array")
        x = args[0]
        if not np.issubdtype(x.dtype, np.floating):
            return self.result([], [], f"its input is {x.dtype}, not floating point")
        if out is None:
            return self.result([], ["forward returned None instead of its output"])
        if not isinstance(out, np.ndarray):
            return self.result([], [], f"its output is a {type(out).__name__}, not an array")
        if out.dtype != np.float64:  # it casts: finite differences in float32 mean nothing
            return self.result(
                [], [], f"it computes in {out.dtype} (finite differences need float64)"
            )
        projection = np.asarray(self.rng.standard_normal(out.shape))
        try:
            grad_x, grads = self._analytic(x, projection)
        except Exception as exc:
            if self.stage[0] != "backward":
                raise  # its forward: the check could not finish (check_backward says so)
            return self.result([], [f"backward raised {type(exc).__name__}: {exc}"])
        problem = shape_problem(grad_x, x.shape, "backward")
        if problem:
            return self.result([TensorCheck("input", np.inf, 0)], [problem])
        tensors, problems = self._compare_all(x, out, projection, np.asarray(grad_x), grads)
        if not problems:
            problems += self._check_accumulation(x, projection, grads)
        if not problems and self.reused and self.module.is_leaf():
            problems += self._check_two_calls(x, projection)
        return self.result(tensors, problems)

    # ------------------------------------------------------------------ values
    def _compare_all(
        self,
        x: np.ndarray,
        out: np.ndarray,
        projection: np.ndarray,
        grad_x: np.ndarray,
        grads: list[np.ndarray],
    ) -> tuple[list[TensorCheck], list[str]]:
        def f() -> float:
            self._reset()
            with no_grad():
                return float(np.sum(self.module(x) * projection))

        f0 = f()
        self.stage = ("forward", "on a perturbed input")
        targets = [("input", x, grad_x)] + [
            (name, p.data, g) for (name, p), g in zip(self.params, grads, strict=True)
        ]
        sampled = [(name, *self._numeric(array, f, f0), a) for name, array, a in targets]
        scale = max((float(np.max(np.abs(n), initial=0.0)) for _, _, n, _ in sampled), default=0.0)
        floor = max(_FLOOR_RATIO * scale, 1e-12)
        tensors, problems = [], []
        for name, idx, numeric, analytic in sampled:
            a = analytic.reshape(-1)[idx].astype(np.float64)
            rel = np.abs(a - numeric) / np.maximum(np.maximum(np.abs(a), np.abs(numeric)), floor)
            worst = float(np.max(rel, initial=0.0))
            tensors.append(TensorCheck(name, worst, int(idx.size)))
            if worst > self.tolerance:
                elementwise = name == "input" and out.shape == x.shape
                clamped = out.reshape(-1)[idx] == 0.0 if elementwise else None
                problems.append(describe_mismatch(name, a, numeric, floor, clamped))
        return tensors, problems

    def _numeric(
        self, array: np.ndarray, f: Callable[[], float], f0: float
    ) -> tuple[np.ndarray, np.ndarray]:
        return sampled_differences(array, f, f0, self.rng, self.samples)

    # ------------------------------------------------------------------ accumulation, reuse
    def _check_accumulation(
        self, x: np.ndarray, projection: np.ndarray, grads: list[np.ndarray]
    ) -> list[str]:
        """The backward must add into ``.grad`` (``+=``): a weight used twice needs both."""
        problems = []
        before = [self.rng.standard_normal(p.shape) for _, p in self.params]
        self._reset()
        self.stage = ("forward", "run again to check that backward adds into .grad")
        self.module(x)
        self.stage = ("backward", "with a gradient already in .grad")
        for (_, p), g0 in zip(self.params, before, strict=True):
            p.grad = g0
        self.module.backward(projection)
        for (name, p), g0, g in zip(self.params, before, grads, strict=True):
            # to the precision of g0 + g: a gradient far below g0 (zero in truth, as a bias's
            # before a batch norm) keeps only rounding noise of g0 in the difference
            if _close(p.grad - g0, g, float(np.max(np.abs(g0), initial=0.0))):
                continue
            if _close(p.grad, g):
                problems.append(
                    f"gradient w.r.t. {name} is assigned (=) instead of accumulated (+=): a "
                    "shared or reused weight keeps only the last use's gradient"
                )
            else:
                problems.append(f"backward changes the gradient already in {name}.grad")
        return problems

    def _check_two_calls(self, x: np.ndarray, projection: np.ndarray) -> list[str]:
        """Called twice in one forward, each backward must use its own call's values."""
        x2 = x[::-1].copy() + self.rng.standard_normal(x.shape) * (float(np.std(x)) + 1e-3)
        r2 = np.asarray(self.rng.standard_normal(projection.shape))
        g1, p1 = self._analytic(x, projection)
        g2, p2 = self._analytic(x2, r2, after=x)
        for _, p in self.params:
            p.zero_grad()
        self._reset()
        try:
            _TwoCalls(self.module)(x, x2)
            back2 = self.module.backward(r2)  # backward runs in reverse: the second call first
            back1 = self.module.backward(projection)
        except Exception as exc:
            return [
                f"called twice in one forward, its backward raised {type(exc).__name__}: {exc} "
                "(keep each call's values with self.save_for_backward(...))"
            ]
        wrong = not (_close(back1, g1) and _close(back2, g2))
        wrong = wrong or not all(
            _close(p.grad, a + b) for (_, p), a, b in zip(self.params, p1, p2, strict=True)
        )
        if not wrong:
            return []
        return [
            "called twice in one forward, it back-propagates the wrong call: its backward uses "
            "values kept on the module (e.g. self.x = x in forward), which the second call "
            "overwrote; keep them with self.save_for_backward(...) and take them back with "
            "self.saved_for_backward()"
        ]


def _close(a: Any, b: Any, floor: float = 0.0) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    scale = max(float(np.max(np.abs(b), initial=0.0)), floor, 1e-12)
    return bool(np.max(np.abs(a - b), initial=0.0) <= 1e-7 * scale)
