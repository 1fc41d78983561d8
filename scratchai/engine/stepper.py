"""The stepper: training as the lesson's state machine, advanced one layer, phase, batch or epoch.

One batch is written once, as the generator ``_batch``, which yields at every boundary a user
can stop at (after a layer, after a phase, after the batch, after an epoch). ``advance(g)``
pulls from it until it reaches a boundary of granularity ``g``; ``run`` pulls batches until a
breakpoint fires. The headless runner and the TUI both drive this same object.

The parts each have a file: the model's structure (``model_index``), the passes and their
layer events (``passes``), statistics (``probes``), rules, rewind, validation and failures.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from scratchai.call_state import reset_calls
from scratchai.engine.checks.backward_in_training import BackwardChecks
from scratchai.engine.checks.data import summarize_inputs
from scratchai.engine.checks.lints.in_training import FirstStepLints
from scratchai.engine.experiment import Experiment
from scratchai.engine.observe.modes_probe import ModeProbes
from scratchai.engine.observe.monitor import Monitor
from scratchai.engine.observe.probes import Probes, squared_norm
from scratchai.engine.observe.records import (
    Advance,
    EpochRecord,
    Granularity,
    LayerEvent,
    RuleWarning,
    State,
    StepRecord,
)
from scratchai.engine.observe.validation import validate
from scratchai.engine.settings import Breakpoints, Settings, warning_breakpoints
from scratchai.engine.stepping.failures import StepFailed, StepInterrupted, step_failed
from scratchai.engine.stepping.interrupts import Interrupted, Interrupts
from scratchai.engine.stepping.passes import Passes, Tape
from scratchai.engine.timeline.history import History
from scratchai.engine.timeline.travel import TimeTravel
from scratchai.engine.views.flow import FlowBuilder
from scratchai.engine.views.model_index import ModelIndex
from scratchai.engine.views.module_info import ModuleInfo
from scratchai.engine.views.readouts import Readouts
from scratchai.interop.names import CHECKPOINT_NAMES, torch_key_layout
from scratchai.module import Module

__all__ = ["StepFailed", "StepInterrupted", "Stepper"]

_RECENT_RECORDS = 16  # StepRecords an Advance carries back from a long run


class Stepper:
    """Steps an ``Experiment``'s training and records what every step did.

    Args:
        experiment: the model, loss, optimizer and data (see ``Experiment``).
        settings: the engine's memory sizes and its rules (``Settings.rules``).
        breakpoints: what pauses ``run`` (divergence and convergence by default).
        checkpoint_names: the names ``save_checkpoint`` writes: ``"scratchai"`` (``0.W``) or
            ``"torch"`` (``0.weight``, transposed: ``torch_model.load_state_dict`` reads it).

    A stepper watches its model through hooks: ``close()`` it (or use it as a context
    manager) when done, so that nothing of it is left on the model.
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
        # The lesson's "parameters registered": one walk of the tree, kept for every step.
        self.index = ModelIndex(self.model)
        grad_fields = [f"grad_norm:{path}" for path, _, _ in self.index.params]
        self.history = History(self.settings.history_capacity, grad_fields)
        s = self.settings
        #: the moves in time (rewind, goto, restart) and the checkpoints they restore
        self.travel = TimeTravel(self)
        #: what can be asked without stepping (inspect, flow, export, checks...)
        self.views = Readouts(self)
        self._interrupts = Interrupts(s.interrupt_grace)
        self._passes = Passes(self.index, self._interrupts)
        inputs = summarize_inputs(experiment.train_loader)  # once: the data rules blame
        probes = Probes(self.index)
        self._monitor = Monitor(probes, s, breakpoints or Breakpoints(), inputs)
        self._checks = BackwardChecks(self.index, experiment, self._monitor)
        self._checks.pending &= s.backward_check_first
        self.backward_checks = self._checks.results  # path -> latest ModuleCheck
        self._modes = ModeProbes(self.index, s.modes_every)  # train vs eval, at epochs' ends
        self.state = State.DEFINED
        self.step = self.epoch = self.batch = 0
        self.last_step: StepRecord | None = None
        # The batch in progress, between its phases: its loss once computed.
        self.batch_loss: float | None = None
        self._lock = threading.RLock()
        self._recent_records: deque[StepRecord] = deque(maxlen=_RECENT_RECORDS)
        self._granularity = Granularity.BATCH
        self._phase = "registration"
        self._running = False  # inside run(): see mid_batch
        self._new_steps: deque[StepRecord] = deque(maxlen=_RECENT_RECORDS)
        self._new_epochs: list[EpochRecord] = []
        self._new_warnings: list[RuleWarning] = []
        self._fired: list[str] = []
        self._last_batch: Any = None  # the inputs of the last batch (compare_modes)
        self._model_shapes: tuple[Any, Any] = (None, None)  # its input and output shapes (flow)
        self._flow = FlowBuilder(self.index, experiment.loss)  # static parts, worked out once
        # build-time lints on the first step (modules not registered, sharing, broadcasting...)
        self._lints = FirstStepLints(self.index, probes, self._flow, self._passes, s.lints)
        self._last_layers: tuple[list[float], Tape] | None = None  # (grad_sq, tape): last step
        self._gen = self._training()

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Take the stepper's hooks off the model. The records can still be read afterwards."""
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
    def warnings(self) -> tuple[RuleWarning, ...]:
        return tuple(self._monitor.warnings)

    @property
    def epochs(self) -> tuple[EpochRecord, ...]:
        return tuple(self._monitor.epochs)

    @property
    def layer_events(self) -> tuple[LayerEvent, ...]:
        """The layer events of the batch in progress shown so far (stepping layers or phases)."""
        return tuple(self._passes.events)

    @property
    def active_path(self) -> str | None:
        """The layer that stepping layers is at (the last one shown), else None."""
        return self._passes.active_path

    @property
    def last_layer(self) -> LayerEvent | None:
        return self._passes.last_event

    @property
    def lr(self) -> float:
        return float(self.experiment.optimizer.lr)

    @property
    def mid_batch(self) -> bool:
        """Paused inside a batch (stepping layers or phases). False during ``run()``, which is
        inside some batch most of the time: a display would flicker between the two."""
        if self._running:
            return False
        return self.state in (State.FORWARD, State.LOSS, State.BACKWARD) or self._passes.revealing

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
            self._complete_last()
            return self._finish(Granularity.BATCH)

    def request_layers(self) -> None:
        """During a run, measure the per-layer statistics of the next step (a display asks
        before it draws: the layer numbers it shows are then at most a step old)."""
        self._monitor.request_layers()

    def _complete_last(self) -> None:
        """Give the last step its own per-layer statistics if the run skipped them: the step
        a run pauses at is shown whole."""
        record = self.last_step
        if record is None or record.layers_fresh or self._last_layers is None:
            return
        complete = self._monitor.complete(record, *self._last_layers)
        self.last_step = self._recent_records[-1] = complete
        if self._new_steps and self._new_steps[-1].step == complete.step:
            self._new_steps[-1] = complete

    def _begin(self, granularity: Granularity) -> None:
        """A move begins: its own records, and no interrupt left standing from the last one."""
        self._interrupts.clear()
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
        interrupts = self._interrupts
        interrupts.enter()
        try:
            try:
                return next(self._gen)
            finally:
                interrupts.leave()  # from here on no interrupt can reach this thread
        except BaseException as exc:  # the user's code: an exit or ctrl+c is a failed step too
            interrupts.in_user_code = False
            interrupts.clear()  # it stopped this step: the undo (perhaps a replay) must run
            if isinstance(exc, Interrupted):
                reset_calls()  # a hard stop may have left Module.__call__ mid-way
            failure = step_failed(self._phase, exc, self.index)
            self.travel.undo_batch()
            raise failure from exc

    def interrupt(self) -> bool:
        """Interrupt the step running in another thread: it stops at the next module boundary
        (or, stuck inside one module, after a short grace time; a long NumPy call ends first),
        is undone like a failed one, and ``advance``/``run`` raise ``StepInterrupted``.
        Returns False when no step is running; calling it again changes nothing."""
        return self._interrupts.request()

    # ------------------------------------------------------------------ the state machine
    def _training(self) -> Generator[Granularity, None, None]:
        if self.state is State.DEFINED:
            self.state = State.REGISTERED
            yield Granularity.PHASE
        while True:
            yield from self._batch()

    def _batch(self) -> Generator[Granularity, None, None]:
        exp, passes, interrupts = self.experiment, self._passes, self._interrupts
        interrupts.in_user_code = False
        self._phase = "snapshot"  # an interrupt here finds the last step complete
        # a request that came after the last boundary of the step before stops this one
        interrupts.check()
        timeline = self.travel.timeline
        if timeline is not None:
            # the monitor's state (rules, conditions) only where a checkpoint keeps it, or
            # where a replay may fail after its update and be undone from the snapshot
            full = self.travel.travelling or timeline.checkpoint_due(self.step)
            timeline.before_batch(self.step, self.travel.counters(monitor=full))
        self._phase = "data"
        interrupts.in_user_code = True  # until the update: only here may a hard stop land
        xb, yb, self.epoch, self.batch = exp.train_loader.next_batch()
        self._last_batch = xb
        if self._checks.pending:  # the user's own modules: check their backward first
            self._phase = "backward check"  # it runs their code: a failure there says so
            self._checks.before_first_step(xb, yb)
        for _, _, p in self.index.params:  # the registered list: no tree walk on the hot path
            p.zero_grad()
        self.batch_loss = None
        passes.start_batch()

        self._phase, self.state = "forward", State.FORWARD
        first = self.step == 0  # the lints' step: the forward's calls are watched
        forward = self._lints.watching(lambda: self.model(xb)) if first else lambda: self.model(xb)
        output = yield from passes.run("forward", forward, self._granularity)
        self._model_shapes = (_shape(xb), _shape(output))
        if self._granularity <= Granularity.PHASE:  # a pause a batch or a run never takes
            yield Granularity.PHASE

        interrupts.check()  # between phases too: a pass may end on a module without a hook
        self._phase = "loss"
        loss = self.batch_loss = float(exp.loss(output, yb))
        self.state = State.LOSS
        if self._granularity <= Granularity.PHASE:
            yield Granularity.PHASE

        interrupts.check()
        self._phase, self.state = "backward", State.BACKWARD
        grad_output = exp.loss.backward()  # type: ignore[call-arg]  # a loss needs no grad
        # The data needs no gradient: skip the first layer's input gradient where supported
        # (but not when stepping layers or phases, where the user looks at every gradient).
        skip = self.model.accepts_input_grad and self._granularity >= Granularity.BATCH
        options = {"input_grad": False} if skip else {}
        yield from passes.run(
            "backward", lambda: self.model.backward(grad_output, **options), self._granularity
        )
        if self._granularity <= Granularity.PHASE:
            yield Granularity.PHASE

        interrupts.check()
        self._phase = "update"
        # .grad, not peek_grad: a parameter no backward reached shows a zero gradient
        grad_sq = [squared_norm(p.grad) for _, _, p in self.index.params]
        lr = self.lr
        if first:
            self._lints.before_update(self.step + 1)
        exp.optimizer.step()
        if first:
            self._monitor.note(self._lints.after_update())
        interrupts.in_user_code = False
        self._phase = "probes"
        record = self._record(loss, output, yb, grad_sq, lr)
        ended_epoch = self.batch == len(exp.train_loader) - 1
        if self.step == 1 or ended_epoch:  # a walk of the tree: rare, not every step
            late = self._monitor.late_parameters(self.step, self.index.unregistered_parameters())
            self._new_warnings.extend(late)
        if ended_epoch:
            self._phase = "validation"
            interrupts.in_user_code = True
            self._validate(record)
            interrupts.in_user_code = False
        yield Granularity.EPOCH if ended_epoch else Granularity.BATCH

    # ------------------------------------------------------------------ records and rules
    def _record(
        self, loss: float, output: Any, targets: np.ndarray, grad_sq: list[float], lr: float
    ) -> StepRecord:
        self.step += 1
        # kept until the next step's record: enough to complete a light record (see run)
        calls = self._passes.tape  # the next batch starts a new one
        self._last_layers = (grad_sq, calls)
        counters = (self.step, self.epoch, self.batch)
        shares = self._passes.shares.take()
        record, self.state, self._fired = self._monitor.step(
            counters, loss, output, targets, grad_sq, lr, calls, self._running, shares
        )
        self._new_warnings.extend(record.warnings)
        grads = [math.sqrt(g_sq) for g_sq in grad_sq]
        self.history.append(record.step, record.loss, record.accuracy, record.grad_norm, lr, grads)
        if self.travel.timeline is not None:
            self.travel.timeline.record_lr(record.step, lr)
        self.last_step = record
        self._recent_records.append(record)
        self._new_steps.append(record)
        return record

    def _validate(self, record: StepRecord) -> None:
        exp = self.experiment
        val_loss, val_acc = validate(self.model, exp.loss, exp.val_data)
        modes = None  # train vs eval: a few forwards, sampled
        if self._modes.due(record.step, len(exp.train_loader)):
            modes = self._modes.probe(self._last_batch)
        epoch_record = EpochRecord(record.epoch, record.step, record.loss, val_loss, val_acc, modes)
        self._new_epochs.append(epoch_record)
        warnings = self._monitor.epoch(epoch_record)
        self._new_warnings.extend(warnings)
        self._fired += warning_breakpoints(self.breakpoints, warnings)  # epoch rules pause too


def _shape(value: Any) -> tuple[int, ...]:
    """``np.shape`` without its Python layer for the usual case, an array (every step)."""
    return value.shape if type(value) is np.ndarray else np.shape(value)
