"""Divergence and convergence rules, and the breakpoints that stop a run.

Rules are evaluated on each finished batch. A rule reports a *condition* while it holds; the
stepper turns the onset of a condition into one ``Warning`` (so a grad norm that stays high
for 50 steps warns once) and derives the state (diverged / converged) from the conditions
that hold now.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from .records import EpochRecord, Severity, StepRecord, Warning

REDUCE_LR = (
    "lower the learning rate ([ halves it in the TUI) and run again, until the update:data "
    "ratio is near 1e-3 or below"
)
FIX_INIT = "fix the init scale (e.g. PyTorch's ±1/sqrt(fan_in), or kaiming for ReLU)"
CLIP = "clip the gradient norm, or normalise inputs (Standardizer)"


@dataclass
class Settings:
    """Thresholds of the rules and sizes of the engine's memory (all can be changed)."""

    grad_norm_threshold: float = 100.0  # the lesson's "grad norm > 100"
    explosion_factor: float = 10.0  # loss above this many times its best smoothed value...
    explosion_smoothing: float = 0.1  # (EMA weight of each new loss)
    explosion_warmup: int = 5  # steps before the explosion rule arms
    init_loss_factor: float = 1.5  # first loss above this many times ln(classes)
    dead_fraction_threshold: float = 0.9  # ReLU layer almost entirely dead
    loss_rise_tolerance: float = 0.1  # breakpoint "loss rose": +10% over the previous step
    converge_window: int = 50
    converge_loss: float = 0.05  # mean loss over the window below this...
    converge_tolerance: float = 0.02  # ...and relative change between its halves below this
    overfit_patience: int = 3  # epochs since the best validation loss, with no new best...
    overfit_margin: float = 0.05  # ...and now over 5 % above it, while the training loss falls
    snapshot_depth: int = 50  # how many steps can be rewound (0: no rewind, fastest)
    history_capacity: int = 4096  # full-resolution steps kept before older ones are downsampled
    warning_capacity: int = 1000
    histogram_bins: int = 24
    heatmap_shape: tuple[int, int] = (16, 48)
    lr_factor: float = 2.0  # what [ and ] divide / multiply the lr by


@dataclass
class Breakpoints:
    """Conditions that pause ``Stepper.run``; each fired one is named in ``Advance.stopped_by``."""

    diverged: bool = True
    nonfinite: bool = True
    grad_norm_above: float | None = None
    loss_rose: bool = False
    dead_fraction_above: float | None = None
    at_step: int | None = None
    converged: bool = True

    @classmethod
    def none(cls) -> Breakpoints:
        """Nothing pauses a run (the rules still warn): for timing whole runs."""
        return cls(diverged=False, nonfinite=False, converged=False)


@dataclass(frozen=True)
class Condition:
    key: str  # identifies the onset: the rule plus what it names
    warning: Warning


class RuleBook:
    """Evaluates the rules on each step; keeps the little state they need (best loss, window)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.smoothed = math.nan  # EMA of the loss: one noisy minibatch is no explosion
        self.best_loss = math.inf  # best value the EMA reached
        self.first_loss = math.nan
        self.best_step = 0  # the step whose (smoothed) loss was the lowest so far
        self.converged = False
        self.window: deque[float] = deque(maxlen=settings.converge_window)
        self._window_sum = 0.0
        # the best validation so far: (val loss, epoch, step, smoothed train loss then)
        self.best_val: tuple[float, int, int, float] = (math.inf, 0, 0, math.inf)
        self.overfit_warned = False  # once per best validation loss

    def state_dict(self) -> dict:
        return {
            "smoothed": self.smoothed,
            "best_loss": self.best_loss,
            "first_loss": self.first_loss,
            "best_step": self.best_step,
            "converged": self.converged,
            "window": list(self.window),
            "best_val": self.best_val,
            "overfit_warned": self.overfit_warned,
        }

    def load_state_dict(self, state: dict) -> None:
        self.smoothed = state["smoothed"]
        self.best_loss = state["best_loss"]
        self.first_loss = state["first_loss"]
        self.best_step = state["best_step"]
        self.converged = state["converged"]
        self.best_val = state["best_val"]
        self.overfit_warned = state["overfit_warned"]
        self.window = deque(state["window"], maxlen=self.settings.converge_window)
        self._window_sum = math.fsum(self.window)

    def evaluate(self, record: StepRecord, num_classes: int | None) -> list[Condition]:
        """Conditions that hold after ``record``'s step."""
        s = self.settings
        step = record.step
        found: list[Condition] = []

        # The loss of step k is measured with the weights left by step k - 1.
        good = max(self.best_step - 1, 0)
        rewind = (
            f"rewind to step {good} (b in the TUI, until the step reads {good}), whose weights "
            "gave the lowest loss so far"
        )

        def add(key: str, severity: Severity, message: str, diagnosis: str, remedies, target=""):
            found.append(
                Condition(
                    key,
                    Warning(
                        key.split(":")[0],
                        severity,
                        step,
                        message,
                        diagnosis,
                        (rewind, *remedies) if severity is Severity.DIVERGED else tuple(remedies),
                        target,
                    ),
                )
            )

        first_output = next((m for m in record.modules if m.output.nonfinite), None)
        first_grad = next((p for p in reversed(record.params) if p.grad_nonfinite), None)
        if not math.isfinite(record.loss):
            where = (
                f" The first non-finite output was in module '{first_output.path}'."
                if first_output
                else ""
            )
            add(
                "nonfinite_loss",
                Severity.DIVERGED,
                f"loss is {record.loss}",
                "Training diverged: a value overflowed to Inf or became NaN."
                + where
                + " Usually the learning rate is too high or the init scale too large, so "
                "activations and gradients grow step after step until they overflow.",
                (REDUCE_LR, FIX_INIT),
                first_output.path if first_output else "",
            )
        if first_output is not None:
            add(
                f"nonfinite_output:{first_output.path}",
                Severity.DIVERGED,
                f"module '{first_output.path}' ({first_output.type_name}) output "
                f"{first_output.output.nonfinite} non-finite values",
                "This is the first module, in forward order, whose output holds NaN or Inf: "
                "everything after it inherits the bad values.",
                (REDUCE_LR, FIX_INIT),
                first_output.path,
            )
        if first_grad is not None:
            add(
                f"nonfinite_grad:{first_grad.path}",
                Severity.DIVERGED,
                f"gradient of '{first_grad.path}' has {first_grad.grad_nonfinite} non-finite "
                "values",
                "This is the first parameter, in backward order, whose gradient holds NaN or Inf.",
                (REDUCE_LR, FIX_INIT, CLIP),
                first_grad.path,
            )
        if record.grad_norm > s.grad_norm_threshold:
            biggest = max(
                record.params,
                key=lambda p: p.grad_norm if p.grad_norm == p.grad_norm else math.inf,
                default=None,
            )
            add(
                "grad_norm",
                Severity.DIVERGED,
                f"total grad norm {record.grad_norm:.4g} > {s.grad_norm_threshold:g}",
                "Gradients this large make the update overshoot; the next steps usually blow up. "
                + (
                    f"The largest is on '{biggest.path}' ({biggest.grad_norm:.4g})."
                    if biggest
                    else ""
                ),
                (REDUCE_LR, FIX_INIT, CLIP),
                biggest.path if biggest else "",
            )
        if math.isfinite(record.loss):
            # ...and above where training started: at a low loss, 10x of a lucky batch is noise.
            if (
                step > s.explosion_warmup
                and record.loss > s.explosion_factor * self.best_loss
                and record.loss > self.first_loss
            ):
                add(
                    "loss_explosion",
                    Severity.DIVERGED,
                    f"loss {record.loss:.4g} is over {s.explosion_factor:g}x its best "
                    f"({self.best_loss:.4g}, smoothed) and above where it started",
                    "The loss is running away from the best it reached: the steps are too big.",
                    (REDUCE_LR, FIX_INIT),
                )
            if self.first_loss != self.first_loss:
                self.first_loss = self.smoothed = record.loss
            a = s.explosion_smoothing
            self.smoothed = (1.0 - a) * self.smoothed + a * record.loss
            if self.smoothed < self.best_loss:
                self.best_loss, self.best_step = self.smoothed, step
        if step == 1 and num_classes and math.isfinite(record.loss):
            expected = math.log(num_classes)
            if record.loss > s.init_loss_factor * expected:
                add(
                    "init_loss",
                    Severity.WARNING,
                    f"loss at init {record.loss:.4g} is far above "
                    f"ln({num_classes}) = {expected:.3g}",
                    "An untrained classifier should be unsure (uniform probabilities give ln(C)); "
                    "a much larger loss means it is confidently wrong, so the init scale of the "
                    "last layer is too large.",
                    (FIX_INIT,),
                )
        for m in record.modules:
            if m.dead_fraction is not None and m.dead_fraction > s.dead_fraction_threshold:
                add(
                    f"dead_relu:{m.path}",
                    Severity.WARNING,
                    f"{m.dead_fraction:.0%} of the units of '{m.path}' are dead "
                    "(never > 0 in this batch)",
                    "Dead ReLUs pass no gradient and stop learning; a large update or a bad "
                    "bias init pushed them negative for every input.",
                    (REDUCE_LR, FIX_INIT),
                    m.path,
                )
        window = self.window
        if len(window) == window.maxlen:
            self._window_sum -= window[0]
        window.append(record.loss)
        self._window_sum += record.loss
        if not math.isfinite(self._window_sum):  # a NaN/Inf would stick in the running sum
            self._window_sum = sum(window)
        mean = self._window_sum / len(window)
        if self.converged:
            # Hysteresis: stay converged until the loss clearly leaves the plateau, so a test
            # that flickers near its thresholds does not warn again every few steps.
            self.converged = mean < 2.0 * s.converge_loss
        elif len(window) == window.maxlen and mean < s.converge_loss:
            values = list(window)  # the halves are compared only when the mean is low (rare)
            half = len(values) // 2
            first = sum(values[:half]) / half
            second = sum(values[half:]) / (len(values) - half)
            self.converged = abs(first - second) <= s.converge_tolerance * first
        if self.converged:
            add(
                "converged",
                Severity.CONVERGED,
                f"loss plateaued near {mean:.4g} over the last {len(window)} steps",
                "The loss is low and no longer falling: training has converged.",
                ("stop here, or lower the lr to fine-tune",),
            )
        return found

    def evaluate_epoch(self, epoch: EpochRecord) -> Warning | None:
        """After a validation pass: warn once per best validation loss when the model
        overfits: no new best for ``overfit_patience`` epochs, the validation loss now over
        ``overfit_margin`` above the best, and the (smoothed) training loss lower than then."""
        s = self.settings
        val = epoch.val_loss
        if val is None or not math.isfinite(val):
            return None
        best, best_epoch, best_step, train_then = self.best_val
        if val < best:
            self.best_val = (val, epoch.epoch, epoch.step, self.smoothed)
            self.overfit_warned = False
            return None
        if (
            self.overfit_warned
            or epoch.epoch - best_epoch < s.overfit_patience
            or val - best <= s.overfit_margin * abs(best)
            or not self.smoothed < train_then
        ):
            return None
        self.overfit_warned = True
        return Warning(
            "overfitting",
            Severity.WARNING,
            epoch.step,
            f"validation loss {val:.4g} has stayed above its best, {best:.4g} at epoch "
            f"{best_epoch + 1}, for {epoch.epoch - best_epoch} epochs while the training loss "
            "kept falling",
            "The model is learning particulars of the training set that do not carry over to "
            "new data (overfitting): training on makes it worse on unseen data.",
            (
                f"stop here: validation was best at step {best_step} (epoch {best_epoch + 1}); "
                "train that long next time, or save a checkpoint (w) after each epoch that "
                "improves it",
                "regularise: Dropout between layers, or weight_decay in the optimizer",
                "more training data, or a smaller model",
            ),
        )


def fired_breakpoints(
    bp: Breakpoints,
    record: StepRecord,
    previous_loss: float | None,
    diverged: bool,
    converged: bool,
    settings: Settings,
    diverged_reason: str,
) -> list[str]:
    """The names (with a short reason) of the breakpoints that fire on ``record``."""
    fired: list[str] = []
    if bp.diverged and diverged:
        fired.append(f"diverged: {diverged_reason}")
    if bp.nonfinite and (
        not math.isfinite(record.loss)
        or any(m.output.nonfinite for m in record.modules)
        or any(p.grad_nonfinite for p in record.params)
    ):
        fired.append(f"nonfinite: NaN/Inf at step {record.step}")
    if bp.grad_norm_above is not None and record.grad_norm > bp.grad_norm_above:
        fired.append(f"grad_norm_above: {record.grad_norm:.4g} > {bp.grad_norm_above:g}")
    if (
        bp.loss_rose
        and previous_loss is not None
        and record.loss > previous_loss * (1.0 + settings.loss_rise_tolerance)
    ):
        fired.append(f"loss_rose: {previous_loss:.4g} -> {record.loss:.4g}")
    if bp.dead_fraction_above is not None:
        for m in record.modules:
            if m.dead_fraction is not None and m.dead_fraction > bp.dead_fraction_above:
                fired.append(f"dead_fraction_above: '{m.path}' {m.dead_fraction:.0%}")
                break
    if bp.at_step is not None and record.step == bp.at_step:
        fired.append(f"at_step: step {record.step}")
    if bp.converged and converged:
        fired.append("converged: loss plateaued")
    return fired
