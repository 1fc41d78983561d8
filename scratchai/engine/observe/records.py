"""Immutable records the stepper returns: what happened, as plain data (no arrays kept live).

The per-step records are NamedTuples rather than frozen dataclasses because several are built
on every training step and a NamedTuple is several times cheaper to construct.

Every consumer (the headless runner, the TUI, tests) reads these same records; nothing outside
the engine recomputes a statistic.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import NamedTuple


class State(enum.Enum):
    """The lesson's training state machine; the value is the label a user sees."""

    DEFINED = "defined"
    REGISTERED = "registered"
    FORWARD = "forward"
    LOSS = "loss"
    BACKWARD = "backward"
    UPDATED = "updated"
    CONVERGED = "converged"
    DIVERGED = "diverged"


#: The order of the states of one batch, after DEFINED and REGISTERED.
BATCH_PHASES = (State.FORWARD, State.LOSS, State.BACKWARD, State.UPDATED)


class Granularity(enum.IntEnum):
    """How far one advance goes; larger values contain the smaller ones."""

    LAYER = 0
    PHASE = 1
    BATCH = 2
    EPOCH = 3


class Severity(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    DIVERGED = "diverged"
    CONVERGED = "converged"


class Stats(NamedTuple):
    """Summary of one array. ``nonfinite`` counts NaN and Inf; the others ignore them."""

    mean: float
    std: float
    min: float
    max: float
    nonfinite: int


class ModuleProbe(NamedTuple):
    """One module call of the forward pass, in forward order (a reused module appears twice).

    Attributes:
        path: dotted path in the model ('' is the model itself).
        type_name: e.g. 'Linear'.
        input_shape / output_shape: e.g. (32, 128) and (32, 64).
        output: statistics of the output activations.
        dead_fraction: ReLU units whose output is <= 0 for the whole batch (None otherwise).
        saturation: fraction of tanh/sigmoid outputs in the flat tails (None otherwise).
        grad_norm: L2 norm of the gradients of this module's own parameters (None if it has none).
        update_ratio: lr * ||grad|| / ||data|| over its own parameters (None if it has none).
        source: the index (in the step's calls) of the call whose output this call read as
            its input, or None when its input was made by code in a forward (a slice, a sum).
    """

    path: str
    type_name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    output: Stats
    dead_fraction: float | None = None
    saturation: float | None = None
    grad_norm: float | None = None
    update_ratio: float | None = None
    source: int | None = None


class ParamProbe(NamedTuple):
    """One parameter after this step's update, reported once even when shared.

    Attributes:
        path: its first dotted name (as in ``named_parameters()``).
        owners: every dotted name it has (more than one when shared), first first.
        nonfinite / grad_nonfinite: NaN/Inf counts in the values / in the gradient.
        update_ratio: lr * ||grad|| / ||data||, the update:data ratio of CS231n and Karpathy's
            "Recipe" (healthy near 1e-3; exact for plain SGD, a scale indicator otherwise).
    """

    path: str
    owners: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    size: int
    norm: float
    grad_norm: float
    nonfinite: int
    grad_nonfinite: int
    update_ratio: float | None

    @property
    def shared(self) -> bool:
        return len(self.owners) > 1


class GradShare(NamedTuple):
    """What one use of a shared (or reused) parameter added to its gradient in one backward.

    Attributes:
        param: the parameter's first dotted name.
        owner: the path of the module whose backward added it.
        call / calls: which call of that module in the forward (1-based) and how many there were.
        norm: L2 norm of the contribution; stats: its statistics. The contributions of one
            parameter sum to its gradient (``ParamProbe.grad_norm`` is the sum's norm).
    """

    param: str
    owner: str
    call: int
    calls: int
    norm: float
    stats: Stats


class BufferProbe(NamedTuple):
    path: str
    shape: tuple[int, ...]
    persistent: bool
    data: Stats


#: The actions a remedy can name (``Remedy.action``); a front end offers its own way to take
#: each one (the TUI shows the key): go back to an earlier step, lower the learning rate, save
#: the weights, check a module's backward again.
REMEDY_ACTIONS = ("rewind", "lower_lr", "checkpoint", "check_backward")


class Remedy(str):
    """What to do about a warning, as an instruction ("halve the learning rate").

    It is the text itself (so it joins, compares and prints as a string) plus ``action``: one of
    ``REMEDY_ACTIONS`` when the debugger can carry it out, else None, and ``step``: the step a
    "rewind" goes to (None for the others), so a front end can offer that very step. The engine
    never names a key; each front end maps the action to its own.
    """

    action: str | None
    step: int | None

    def __new__(cls, text: str, action: str | None = None, step: int | None = None) -> Remedy:
        if action is not None and action not in REMEDY_ACTIONS:
            raise ValueError(f"unknown remedy action {action!r}; expected one of {REMEDY_ACTIONS}")
        remedy = super().__new__(cls, text)
        remedy.action = action
        remedy.step = step
        return remedy


@dataclass(frozen=True)
class RuleWarning:
    """A rule that fired: what, where, why in plain words, and what to do.

    Attributes:
        rule: a stable identifier, e.g. 'nonfinite_loss', 'grad_norm', 'loss_explosion'.
        target: the module or parameter path it names ('' when it names none).
    """

    rule: str
    severity: Severity
    step: int
    message: str
    diagnosis: str
    remedies: tuple[Remedy, ...]
    target: str = ""


class StepRecord(NamedTuple):
    """Everything measured on one training batch.

    Attributes:
        step: 1-based count of completed batches.
        epoch: 0-based epoch the batch belongs to; batch: its 0-based index in that epoch.
        accuracy: batch accuracy for classification losses, else None.
        grad_norm: total L2 norm over all (deduplicated) parameter gradients.
        lr: the learning rate used for this step's update.
        layers_step: None when ``modules``, ``params`` and ``buffers`` were measured on this
            step; during a run they are measured every few steps only (and whenever a rule
            needs them, and on the step a run pauses at), and a record in between carries
            those of the step ``layers_step``, and says so.
    """

    step: int
    epoch: int
    batch: int
    loss: float
    accuracy: float | None
    grad_norm: float
    lr: float
    modules: tuple[ModuleProbe, ...]
    params: tuple[ParamProbe, ...]
    buffers: tuple[BufferProbe, ...]
    warnings: tuple[RuleWarning, ...] = ()
    grad_shares: tuple[GradShare, ...] = ()  # each use's part of a shared parameter's gradient
    layers_step: int | None = None

    @property
    def layers_fresh(self) -> bool:
        """The per-layer numbers are this step's own."""
        return self.layers_step is None


class ModeDifference(NamedTuple):
    """One module whose output depends on the mode in a way it should not (see ``ModesProbe``).

    Attributes:
        path / type_name: the module, e.g. '2' and 'MyDropout'.
        difference: relative difference of the two outputs compared (0 when equal).
        buffers: the module's own buffers that never changed since training began (frozen).
    """

    path: str
    type_name: str
    difference: float
    buffers: tuple[str, ...] = ()


class ModesProbe(NamedTuple):
    """Train and eval mode on the last trained batch, at an epoch's end (nothing changed).

    Attributes:
        random_in_eval: modules whose eval output differs between two identical calls (the
            first such in forward order: what comes after it differs because of it).
        frozen: modules whose own buffers never changed during training while their eval
            output differs from their (deterministic) train output on the same input.
        error: the probe could not finish: what the user's code raised ('' when it did).
    """

    random_in_eval: tuple[ModeDifference, ...] = ()
    frozen: tuple[ModeDifference, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class EpochRecord:
    """The validation pass at the end of an epoch (None values without validation data).

    ``modes``: the train/eval probe of the epoch's last batch (None when not measured).
    """

    epoch: int
    step: int
    train_loss: float
    val_loss: float | None
    val_accuracy: float | None
    modes: ModesProbe | None = None


@dataclass(frozen=True)
class LayerEvent:
    """One module's forward or backward, when stepping a pass one layer or one phase at a time.

    Attributes:
        direction: 'forward' or 'backward'.
        input_shape / output_shape: for backward, the shapes of grad_output and grad_input.
        stats: statistics of the module output (forward) or of grad_input (backward).
        grad_norm: backward only, the norm of the gradient of the module's own parameters
            in this batch, once it is final (None for forward, for a module without
            parameters, used twice, or with a parameter shared with another module).
    """

    direction: str
    path: str
    type_name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    stats: Stats
    grad_norm: float | None = None


@dataclass(frozen=True)
class Advance:
    """What one call to ``Stepper.advance`` (or ``run``) did.

    Attributes:
        state: the state machine's state afterwards.
        step / epoch / batch: counters afterwards (step = completed batches).
        layer: the last layer event, when the advance ended inside a pass.
        steps: records of the batches completed during this advance (for ``run``, the last few
            are kept; see ``Stepper.history`` for every step's scalars).
        epochs: validation records of epochs completed during this advance.
        warnings: rules that fired during this advance.
        stopped_by: the breakpoints that ended a ``run`` (empty otherwise).
    """

    granularity: Granularity
    state: State
    step: int
    epoch: int
    batch: int
    layer: LayerEvent | None = None
    steps: tuple[StepRecord, ...] = ()
    epochs: tuple[EpochRecord, ...] = ()
    warnings: tuple[RuleWarning, ...] = ()
    stopped_by: tuple[str, ...] = field(default_factory=tuple)

    @property
    def last_step(self) -> StepRecord | None:
        return self.steps[-1] if self.steps else None
