"""The stepper: training as the lesson's state machine, advanced one layer, phase, batch or epoch.

One batch is written once, as the generator ``_batch``, which yields at every boundary a user
can stop at (after a layer, after a phase, after the batch, after an epoch). ``advance(g)``
pulls from it until it reaches a boundary of granularity ``g``; ``run`` pulls batches until a
breakpoint fires. The headless runner and the TUI both drive this same object.

The parts each have a file: the model's structure (``model_index``), the passes and their
layer events (``passes``), statistics (``probes``), rules, rewind, validation and failures.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..interop.names import CHECKPOINT_NAMES, state_to_torch, torch_key_layout
from ..module import Module
from .experiment import Experiment
from .failures import StepFailed, step_failed
from .history import History
from .inspect import Inspection, inspect_path
from .model_index import ModelIndex
from .monitor import Monitor
from .passes import Passes
from .probes import Probes, squared_norm
from .records import (
    Advance,
    EpochRecord,
    Granularity,
    LayerEvent,
    ModuleProbe,
    State,
    StepRecord,
    Warning,
)
from .rewind import Rewinder
from .rules import Breakpoints, Settings
from .structure import ModuleInfo
from .validation import validate

__all__ = ["StepFailed", "Stepper"]

_RECENT_RECORDS = 16  # StepRecords an Advance carries back from a long run


class _Counters(NamedTuple):
    """The stepper's own state that a rewind puts back (beside the model's, in ``rewind``)."""

    step: int
    epoch: int
    batch: int
    state: State
    monitor: Any


class Stepper:
    """Steps an ``Experiment``'s training and records what every step did.

    Args:
        experiment: the model, loss, optimizer and data (see ``Experiment``).
        settings: rule thresholds and memory sizes.
        breakpoints: what pauses ``run`` (divergence and convergence by default).
        checkpoint_names: the names ``save_checkpoint`` writes: ``"scratchai"`` (``0.W``) or
            ``"torch"`` (``0.weight``, transposed: ``torch_model.load_state_dict`` reads it).

    A stepper watches its model through hooks: ``close()`` it (or use it as a context
    manager) when done, so that nothing is left on the model or parked in a thread.
    """

    def __init__(
        self,
        experiment: Experiment,
        settings: Settings | None = None,
        breakpoints: Breakpoints | None = None,
        checkpoint_names: str = "scratchai",
    ) -> None:
        if checkpoint_names not in CHECKPOINT_NAMES:
            raise ValueError(
                f"checkpoint_names must be one of {', '.join(CHECKPOINT_NAMES)}, "
                f"got {checkpoint_names!r}"
            )
        if checkpoint_names == "torch":
            torch_key_layout(experiment.model)  # InteropError now, not at the first save
        self.checkpoint_names = checkpoint_names
        self.experiment = experiment
        self.model: Module = experiment.model
        self.settings = settings or Settings()
        self.history = History(self.settings.history_capacity)
        # The lesson's "parameters registered": one walk of the tree, kept for every step.
        self.index = ModelIndex(self.model)
        self._rewinder = Rewinder(self.index, experiment, self.settings.snapshot_depth)
        self._passes = Passes(self.index)
        self._monitor = Monitor(Probes(self.index), self.settings, breakpoints or Breakpoints())
        self.state = State.DEFINED
        self.step = self.epoch = self.batch = 0
        self.last_step: StepRecord | None = None
        # The batch in progress, between its phases: its loss once computed.
        self.batch_loss: float | None = None
        self._lock = threading.RLock()
        self._recent_records: deque[StepRecord] = deque(maxlen=self.settings.snapshot_depth + 1)
        self._granularity = Granularity.BATCH
        self._phase = "registration"
        self._running = False  # inside run(): see mid_batch
        self._new_steps: deque[StepRecord] = deque(maxlen=_RECENT_RECORDS)
        self._new_epochs: list[EpochRecord] = []
        self._new_warnings: list[Warning] = []
        self._fired: list[str] = []
        self._gen = self._training()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Cancel a pass parked in the middle (stepping layers) and take the stepper's hooks
        off the model. The records can still be read afterwards."""
        with self._lock:
            self._passes.close()

    def __enter__(self) -> Stepper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public read-outs
    def structure(self) -> tuple[ModuleInfo, ...]:
        return self.index.structure

    @property
    def num_parameters(self) -> tuple[int, int]:
        """(deduplicated count, naive count that counts a shared weight once per owner)."""
        unique = sum(p.size for _, _, p in self.index.params)
        return unique, sum(p.size * len(owners) for _, owners, p in self.index.params)

    @property
    def breakpoints(self) -> Breakpoints:
        """What pauses ``run``; read on every step, so a change applies from the next one."""
        return self._monitor.breakpoints

    @breakpoints.setter
    def breakpoints(self, value: Breakpoints) -> None:
        self._monitor.breakpoints = value

    @property
    def warnings(self) -> tuple[Warning, ...]:
        return tuple(self._monitor.warnings)

    @property
    def epochs(self) -> tuple[EpochRecord, ...]:
        return tuple(self._monitor.epochs)

    @property
    def layer_events(self) -> tuple[LayerEvent, ...]:
        """The layer events of the batch in progress (stepping layers or phases)."""
        return tuple(self._passes.events)

    @property
    def active_path(self) -> str | None:
        """The layer a layer-by-layer pass is paused after, else None."""
        return self._passes.active_path

    @property
    def last_layer(self) -> LayerEvent | None:
        return self._passes.last_event

    @property
    def lr(self) -> float:
        return float(self.experiment.optimizer.lr)

    @property
    def rewind_depth(self) -> int:
        """How many steps ``rewind`` can undo now."""
        return len(self._rewinder)

    @property
    def mid_batch(self) -> bool:
        """Paused inside a batch (stepping layers or phases). False during ``run()``, which is
        inside some batch most of the time: a display would flicker between the two."""
        if self._running:
            return False
        return self.state in (State.FORWARD, State.LOSS, State.BACKWARD) or self._passes.parked

    def set_lr(self, value: float) -> None:
        """Change the learning rate for the next updates; the change is recorded in the history.

        Waits for a ``run`` in another thread to finish (the stepper is used by one thread at
        a time); from the thread that drives ``run``, call it between chunks.
        """
        with self._lock:
            old = self.lr
            self.experiment.optimizer.lr = float(value)
            self.history.record_lr_change(self.step, old, float(value))

    def scale_lr(self, factor: float) -> float:
        self.set_lr(self.lr * factor)
        return self.lr

    # ------------------------------------------------------------------ advancing
    def advance(self, granularity: Granularity = Granularity.BATCH) -> Advance:
        """Go forward to the next boundary of ``granularity``.

        An EPOCH advance also stops early when a breakpoint fires.

        Raises:
            StepFailed: the user's code raised; the batch in progress was undone.
        """
        # Overflow to Inf/NaN is what the rules detect and report; NumPy's warnings about it
        # would only repeat that on stderr (and inside the TUI).
        with self._lock, np.errstate(all="ignore"):
            self._begin(granularity)
            while True:
                level = self._next()
                if level >= granularity:
                    break
                if level >= Granularity.BATCH and self._fired:
                    break
            return self._finish(granularity)

    def run(
        self, max_steps: int | None = None, should_stop: Callable[[], bool] | None = None
    ) -> Advance:
        """Train batch after batch until a breakpoint fires, ``max_steps`` batches are done, or
        ``should_stop()`` (checked between batches) returns True."""
        with self._lock, np.errstate(all="ignore"):
            self._begin(Granularity.BATCH)
            self._running = True
            try:
                done = 0
                while True:
                    if self._next() < Granularity.BATCH:
                        continue
                    done += 1
                    if self._fired or (max_steps is not None and done >= max_steps):
                        break
                    if should_stop is not None and should_stop():
                        break
            finally:
                self._running = False
            return self._finish(Granularity.BATCH)

    def _begin(self, granularity: Granularity) -> None:
        self._granularity = granularity
        self._new_steps.clear()
        self._new_epochs = []
        self._new_warnings = []
        self._fired = []

    def _finish(self, granularity: Granularity) -> Advance:
        return Advance(
            granularity=granularity,
            state=self.state,
            step=self.step,
            epoch=self.epoch,
            batch=self.batch,
            layer=self.last_layer if self.active_path is not None else None,
            steps=tuple(self._new_steps),
            epochs=tuple(self._new_epochs),
            warnings=tuple(self._new_warnings),
            stopped_by=tuple(self._fired),
        )

    def _next(self) -> Granularity:
        try:
            return next(self._gen)
        except Exception as exc:
            failure = step_failed(self._phase, exc, self.index)
            self._abandon_batch()
            raise failure from exc

    # ------------------------------------------------------------------ the state machine
    def _training(self) -> Generator[Granularity, None, None]:
        if self.state is State.DEFINED:
            self.state = State.REGISTERED
            yield Granularity.PHASE
        while True:
            yield from self._batch()

    def _batch(self) -> Generator[Granularity, None, None]:
        exp, passes = self.experiment, self._passes
        if self._rewinder.enabled:
            self._rewinder.push(self._counters())
        self._phase = "data"
        xb, yb, self.epoch, self.batch = exp.train_loader.next_batch()
        for _, _, p in self.index.params:  # the registered list: no tree walk on the hot path
            p.zero_grad()
        self.batch_loss = None
        passes.start_batch()

        self._phase, self.state = "forward", State.FORWARD
        output = yield from passes.run("forward", lambda: self.model(xb), self._granularity)
        yield Granularity.PHASE

        self._phase = "loss"
        loss = self.batch_loss = float(exp.loss(output, yb))
        self.state = State.LOSS
        yield Granularity.PHASE

        self._phase, self.state = "backward", State.BACKWARD
        grad_output = exp.loss.backward()  # type: ignore[call-arg]  # a loss needs no grad
        # The data needs no gradient: skip the first layer's input gradient where supported
        # (but not when stepping layers or phases, where the user looks at every gradient).
        skip = self.model.accepts_input_grad and self._granularity >= Granularity.BATCH
        options = {"input_grad": False} if skip else {}
        yield from passes.run(
            "backward", lambda: self.model.backward(grad_output, **options), self._granularity
        )
        yield Granularity.PHASE

        self._phase = "update"
        grad_sq = {id(p): squared_norm(p.grad) for _, _, p in self.index.params}
        lr = self.lr
        exp.optimizer.step()
        self._phase = "probes"
        record = self._record(loss, output, yb, grad_sq, lr)
        ended_epoch = self.batch == len(exp.train_loader) - 1
        if ended_epoch:
            self._phase = "validation"
            self._validate(record)
        yield Granularity.EPOCH if ended_epoch else Granularity.BATCH

    # ------------------------------------------------------------------ records and rules
    def _record(
        self, loss: float, output: Any, targets: np.ndarray, grad_sq: dict, lr: float
    ) -> StepRecord:
        self.step += 1
        calls, self._passes.forward_calls = self._passes.forward_calls, []  # not kept alive
        counters = (self.step, self.epoch, self.batch)
        record, self.state, self._fired = self._monitor.step(
            counters, loss, output, targets, grad_sq, lr, calls
        )
        self._new_warnings.extend(record.warnings)
        self.history.append(record.step, record.loss, record.accuracy, record.grad_norm, lr)
        self.last_step = record
        self._recent_records.append(record)
        self._new_steps.append(record)
        return record

    def _validate(self, record: StepRecord) -> None:
        exp = self.experiment
        val_loss, val_acc = validate(self.model, exp.loss, exp.val_data)
        epoch_record = EpochRecord(record.epoch, record.step, record.loss, val_loss, val_acc)
        self._new_epochs.append(epoch_record)
        self._new_warnings.extend(self._monitor.epoch(epoch_record))

    # ------------------------------------------------------------------ rewind
    def _counters(self) -> _Counters:
        return _Counters(self.step, self.epoch, self.batch, self.state, self._monitor.state_dict())

    def _restore(self, saved: _Counters) -> None:
        """Take back the stepper's own state after ``Rewinder.pop`` restored the model's."""
        self.step, self.epoch, self.batch, self.state = saved[:4]
        self._monitor.load_state_dict(saved.monitor, saved.step)
        self.history.truncate_after(saved.step)
        while self._recent_records and self._recent_records[-1].step > saved.step:
            self._recent_records.pop()
        self.last_step = self._recent_records[-1] if self._recent_records else None
        self._passes.last_event = None
        self.batch_loss = None
        self._gen = self._training()

    def _abandon_batch(self) -> None:
        """Put everything back as it was before the batch in progress (after a failure).

        Without snapshots (``snapshot_depth=0``) only the batch is abandoned: a failure inside
        the optimizer's step may then leave some parameters updated.
        """
        self._passes.cancel()
        if self.state is not State.DEFINED and self._rewinder:
            self._restore(self._rewinder.pop())
            return
        self._gen = self._training()
        self.batch_loss = None
        if self.state is not State.DEFINED:
            self.state = State.UPDATED if self.step else State.REGISTERED

    def rewind(self, k: int = 1) -> int:
        """Undo the last ``k`` steps (a batch in progress counts as one); returns how many.

        Parameters, buffers, optimizer state, random generator and data position return
        exactly, so running the same steps again reproduces the same losses bit for bit. The
        learning rate the user set last is kept.
        """
        with self._lock:
            k = min(k, len(self._rewinder))
            if k <= 0:
                return 0
            self._passes.cancel()
            self._restore(self._rewinder.pop(k))
            return k

    # ------------------------------------------------------------------ inspection, checkpoints
    def inspect(self, path: str) -> Inspection:
        """Details of a parameter (any owner's name), buffer or module path.

        Raises:
            KeyError: no such path, with the valid kinds of path in the message.
        """
        s = self.settings
        probe = self.module_probe(path)
        return inspect_path(self.index, path, probe, s.histogram_bins, s.heatmap_shape)

    def module_probe(self, path: str) -> ModuleProbe | None:
        if self.last_step is None:
            return None
        return next((m for m in self.last_step.modules if m.path == path), None)

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Save the model's state_dict (safetensors, written atomically), in the naming chosen
        by ``checkpoint_names``; returns the path."""
        from ..serialization import save

        target = (
            Path(path)
            if path is not None
            else Path("checkpoints", f"{self.experiment.name}-step{self.step}.safetensors")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self.checkpoint_names == "torch":
                # "pt": the format tag PyTorch-side loaders of safetensors files expect
                save(state_to_torch(self.model), target, metadata={"format": "pt"})
            else:
                save(self.model, target)
        return target.resolve()
