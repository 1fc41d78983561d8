"""The pre-flight checklist of Karpathy's "Recipe for Training Neural Networks" and CS231n.

Before a long training run, a few cheap experiments catch most setup bugs: the loss at init
is what an unsure model gives (ln C), every backward matches finite differences, the model can
drive one batch's loss to near zero, it does better with its inputs than with zeros, and the
data has no NaN, a sane label balance and standardised features.

Everything runs on copies (model, loss and optimizer copied together, the data read straight
from the dataset), and the library's random generator is put back: the experiment's training
state is untouched.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from scratchai.call_state import no_grad
from scratchai.engine.checks.backward import (
    LOSS_PATH,
    BackwardReport,
    check_backward,
    is_library_module,
)
from scratchai.engine.checks.data import dataset_arrays, summarize_inputs
from scratchai.engine.checks.init_loss import (
    InitLossVerdict,
    classes_of,
    judge_init_loss,
    measure_init_loss,
)
from scratchai.engine.checks.lints.preflight import NAME as LINTS
from scratchai.engine.checks.lints.preflight import lint_check
from scratchai.engine.checks.loss_backward import check_loss_backward
from scratchai.engine.experiment import Experiment
from scratchai.engine.stepping.interrupts import Interrupted
from scratchai.engine.timeline.randomness import capture_random, restore_random

NEAR_ZERO = 0.05  # "near zero" for the one-batch loss
SAMPLE = 512  # rows used to measure a loss


@dataclass(frozen=True)
class CheckResult:
    """One line of the checklist.

    Attributes:
        name: e.g. 'loss at init'.
        passed: whether the check passed.
        measured: what was measured, with the threshold.
        fix: what to do when it failed ('' when it passed).
        seconds: how long it took.
    """

    name: str
    passed: bool
    measured: str
    fix: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Checklist:
    """The results, in the order they ran."""

    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def __str__(self) -> str:
        lines = []
        for r in self.results:
            lines.append(f"[{'pass' if r.passed else 'FAIL'}] {r.name}: {r.measured}")
            if r.fix:
                lines.append(f"       fix: {r.fix}")
        return "\n".join(lines)


class _Copy:
    """A fresh copy of the experiment's model, loss and optimizer (ties and state kept)."""

    def __init__(self, experiment: Experiment) -> None:
        self.model, self.loss, self.optimizer = copy.deepcopy(
            (experiment.model, experiment.loss, experiment.optimizer)
        )

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        """One training step on (x, y); returns its loss."""
        self.optimizer.zero_grad()
        loss = float(self.loss(self.model(x), y))
        self.model.backward(self.loss.backward())  # type: ignore[call-arg]  # a loss needs no grad
        self.optimizer.step()
        return loss

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> float:
        self.model.eval()
        try:
            with no_grad():
                return float(self.loss(self.model(x), y))
        finally:
            self.model.train()


def run_checklist(
    experiment: Experiment,
    *,
    overfit_steps: int = 200,
    baseline_steps: int = 100,
    seed: int = 0,
    on_result: Callable[[CheckResult], None] | None = None,
    first_loss: float | None = None,
) -> Checklist:
    """Run the recipe's checks on copies of ``experiment``; its training state is untouched.

    Args:
        overfit_steps: steps allowed to drive one batch's loss near zero.
        baseline_steps: steps trained with real and with zeroed inputs.
        seed: for the batches drawn.
        on_result: called with each result as soon as it is known (a progress display).
        first_loss: step 1's loss, when the run has taken it (``stepper.views.first_loss()``):
            "loss at init" judges it as the init-loss rule did. Else the check measures the
            same number on copies: the loader's next batch (step 1's for a run not started),
            training mode (``checks.init_loss``).
    """
    with np.errstate(all="ignore"):  # overflow is a finding, reported in the results
        return _run(experiment, overfit_steps, baseline_steps, seed, on_result, first_loss)


def _run(
    experiment: Experiment,
    overfit_steps: int,
    baseline_steps: int,
    seed: int,
    on_result: Callable[[CheckResult], None] | None,
    first_loss: float | None = None,
) -> Checklist:
    rng_state = capture_random()
    results: list[CheckResult] = []
    arrays = dataset_arrays(experiment.train_loader)
    try:
        checks: list[tuple[str, Callable[[], CheckResult]]] = [
            ("data sanity", lambda: _data_sanity(experiment)),
            ("loss at init", lambda: _init_loss(experiment, first_loss)),
        ]
        if arrays is not None:
            X, y = arrays
            rng = np.random.default_rng(seed)
            batch = int(getattr(experiment.train_loader, "batch_size", 32))
            sample = rng.permutation(len(X))[:SAMPLE]
            one = sample[:batch]
            checks += [
                ("backward check", lambda: _backward(experiment, X[one], y[one])),
                (LINTS, lambda: lint_check(experiment, X[one], y[one])),
                (
                    "overfit one batch",
                    lambda: _overfit(experiment, X[one], y[one], overfit_steps),
                ),
                (
                    "input-independent baseline",
                    lambda: _baseline(
                        experiment, X, y, batch, baseline_steps, rng, _passed(results)
                    ),
                ),
            ]
        for name, check in checks:
            restore_random(rng_state)  # each check sees the same dropout draws
            start = time.perf_counter()
            try:
                result = check()
            except Interrupted:
                raise  # the user stopped the checks (ctrl+c, i, the screen closed)
            except BaseException as exc:  # the user's code raised, exited or interrupted itself
                result = CheckResult(name, False, _raised(exc), "fix the error above")
            result = CheckResult(
                result.name, result.passed, result.measured, result.fix,
                time.perf_counter() - start,
            )  # fmt: skip
            results.append(result)
            if on_result is not None:
                on_result(result)
    finally:
        restore_random(rng_state)
    return Checklist(tuple(results))


def _passed(results: list[CheckResult], name: str = "overfit one batch") -> bool | None:
    """Whether the check ``name`` passed (None when it has not run)."""
    return next((r.passed for r in results if r.name == name), None)


def _raised(exc: BaseException) -> str:
    """What the user's code did, for a check's line (a ctrl+c is not caught: it stops them)."""
    if isinstance(exc, SystemExit):  # a front end may raise one for os._exit: ``called``
        return f"the code called {getattr(exc, 'called', 'sys.exit')}({exc.code!r})"
    if isinstance(exc, KeyboardInterrupt):  # raised by the code itself, not a ctrl+c
        return f"the code raised KeyboardInterrupt({', '.join(map(repr, exc.args))})"
    return f"raised {type(exc).__name__}: {exc}"


def _init_loss(experiment: Experiment, first_loss: float | None) -> CheckResult:
    """The init-loss rule's judgement (``checks.init_loss``) of step 1's loss: the run's own
    when given, else measured on copies."""
    name = "loss at init"
    if first_loss is not None:
        verdict = _judged_first(experiment, first_loss)
    else:
        verdict = measure_init_loss(experiment)
    if verdict.passed:
        return CheckResult(name, True, verdict.describe())
    summary = summarize_inputs(experiment.train_loader)
    problem = summary.scale_problem() if summary is not None else ""
    fix = (
        f"standardise the inputs first ({problem})"
        if problem
        else "the last layer's init is too large: the model is confidently wrong; scale its "
        "weights down (e.g. x0.1) so the first logits are near 0"
    )
    return CheckResult(name, False, verdict.describe(), fix)


def _judged_first(experiment: Experiment, loss: float) -> InitLossVerdict:
    """Step 1's recorded loss, judged with C counted as the rules count it (the logits of one
    row of the next batch, in eval mode on a copy: only the width matters)."""
    model = copy.deepcopy(experiment.model)
    model.eval()
    x, y = experiment.train_loader.dataset[np.arange(1)]
    with no_grad():
        output = model(x)
    return judge_init_loss(loss, classes_of(output, y))


def _backward(experiment: Experiment, x: np.ndarray, y: np.ndarray) -> CheckResult:
    report = check_backward(experiment.model, x)
    if not is_library_module(experiment.loss):  # a loss the user wrote: its backward too
        checked = check_loss_backward(experiment.model, experiment.loss, x, y)
        report = BackwardReport((*report.modules, checked), report.tolerance, report.error)
    name = "backward check"
    if report.error:
        return CheckResult(
            name, False, f"could not finish: {report.error}", "fix the error, then check again"
        )
    worst = max((t.max_rel_error for m in report.modules for t in m.tensors), default=0.0)
    modules = sum(m.path != LOSS_PATH for m in report.modules)
    loss = " and the loss" if len(report.modules) > modules else ""
    measured = (
        f"{modules} modules{loss} each against finite differences, worst relative "
        f"error {worst:.2g} (tolerance {report.tolerance:g})"
    )
    if report.passed:
        return CheckResult(name, True, measured)
    fix = "; ".join(f"{m.who}: {m.finding}" for m in report.failed)
    return CheckResult(name, False, measured, fix)


def _overfit(experiment: Experiment, x: np.ndarray, y: np.ndarray, steps: int) -> CheckResult:
    name = "overfit one batch"
    trainer = _Copy(experiment)
    first = trainer.evaluate(x, y)
    last, ratios, done = first, [], 0
    for i in range(steps):
        done = i + 1
        before = [p.data.copy() for p in trainer.model.parameters()]
        trainer.step(x, y)
        last = trainer.evaluate(x, y)
        if i < 5:
            ratios += [
                _update_ratio(b, p.data)
                for b, p in zip(before, trainer.model.parameters(), strict=True)
            ]
        if last < NEAR_ZERO or not math.isfinite(last):
            break
    measured = (
        f"loss on one batch of {len(x)}: {first:.4g} -> {last:.4g} in {done} steps "
        f"(near zero: below {NEAR_ZERO:g} within {steps})"
    )
    if last < NEAR_ZERO:
        return CheckResult(name, True, measured)
    largest = max(ratios, default=0.0)
    if not math.isfinite(last):
        fix = "the loss diverged on a single batch: lower the learning rate"
    elif largest < 1e-5:
        fix = (
            f"the weights barely move (update:data {largest:.2g}, healthy ~1e-3): raise the "
            "learning rate"
        )
    else:
        fix = (
            "a model that cannot memorise one batch has a bug or too little room: check the "
            "backward check's line, too few units, or regularisation too strong (Dropout, "
            "weight_decay) while overfitting"
        )
    return CheckResult(name, False, measured, fix)


def _update_ratio(before: np.ndarray, after: np.ndarray) -> float:
    norm = float(np.linalg.norm(before))
    return float(np.linalg.norm(after - before)) / norm if norm > 0 else 0.0


def _baseline(
    experiment: Experiment,
    X: np.ndarray,
    y: np.ndarray,
    batch: int,
    steps: int,
    rng: np.random.Generator,
    overfit_passed: bool | None = None,
) -> CheckResult:
    """Real inputs against zeroed ones; ``overfit_passed``: the "overfit one batch" line
    passed (the model can learn: a failure here is then about the data, never the lr)."""
    name = "input-independent baseline"
    val = dataset_arrays(experiment.val_data) if experiment.val_data is not None else None
    xv, yv = val if val is not None else (X, y)
    xv, yv = xv[:SAMPLE], yv[:SAMPLE]
    order = [rng.integers(0, len(X), size=batch) for _ in range(steps)]
    real, zeroed = _Copy(experiment), _Copy(experiment)
    untrained = real.evaluate(xv, yv), zeroed.evaluate(np.zeros_like(xv), yv)
    state = capture_random()
    for idx in order:
        real.step(X[idx], y[idx])
    restore_random(state)
    for idx in order:
        zeroed.step(np.zeros_like(X[idx]), y[idx])
    with_inputs, without = real.evaluate(xv, yv), zeroed.evaluate(np.zeros_like(xv), yv)
    where = "validation" if val is not None else "training"
    measured = (
        f"{where} loss after {steps} steps: {with_inputs:.4g} with the real inputs, "
        f"{without:.4g} with zeroed inputs"
    )
    if with_inputs < without:
        return CheckResult(name, True, measured)
    if not math.isfinite(with_inputs):
        return CheckResult(
            name, False, measured, "training on the real inputs diverged: lower the learning rate"
        )
    moved = [abs(after - before) >= 0.01 * abs(before) for after, before in zip(
        (with_inputs, without), untrained, strict=True
    )]  # fmt: skip
    if overfit_passed:  # it learns (one batch memorised), but nothing that carries over
        fix = (
            "the model can learn (it memorised one batch: see the overfit line), yet after "
            f"{steps} steps it does no better on {where} data with its inputs than without: "
            "the labels likely do not belong to their inputs (shuffled or sorted apart from "
            "them: shuffle X and y with one permutation), or the inputs do not reach the model"
        )
    elif not any(moved):  # nothing learnt either way: the comparison says nothing yet
        fix = (
            f"training did not move the loss ({untrained[0]:.4g} before): with or without "
            "the inputs, nothing was learnt, so this says nothing about the data yet; make "
            "the model train first (a learning rate too low, see the overfit line)"
        )
    else:
        fix = (
            "the model does no better with its inputs than without: check that the inputs "
            "reach the model, that each label belongs to its input, and the backward check"
        )
    return CheckResult(name, False, measured, fix)


def _data_sanity(experiment: Experiment) -> CheckResult:
    name = "data sanity"
    summary = summarize_inputs(experiment.train_loader)
    if summary is None:
        return CheckResult(name, True, "the dataset cannot be indexed: not checked")
    parts = [
        f"{summary.features} features, typical std {summary.typical_std:.3g}, "
        f"typical |mean| {summary.typical_mean:.3g}"
    ]
    problems = []
    if summary.nonfinite:
        problems.append(
            f"{summary.nonfinite} NaN/Inf values in the inputs: drop or impute those rows"
        )
    counts = summary.label_counts
    if counts:
        parts.append(f"{len(counts)} classes, {min(counts)}-{max(counts)} samples each")
        if min(counts) == 0:
            problems.append("a class has no training sample: check the labels (0..C-1)")
        elif max(counts) > 10 * min(counts):
            problems.append(
                "labels are very unbalanced (over 10x): weight the loss, resample, or judge by "
                "per-class accuracy"
            )
    scale = summary.scale_problem()
    if scale:
        problems.append(f"standardise the inputs: {scale}")
    measured = "; ".join(parts) + (f"; {summary.nonfinite} NaN/Inf" if summary.nonfinite else "")
    return CheckResult(name, not problems, measured, "; ".join(problems))
