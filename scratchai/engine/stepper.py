"""The stepper: training as the lesson's state machine, advanced one layer, phase, batch or epoch.

One batch is written once, as the generator ``_batch``, which yields at every boundary a user
can stop at (after a layer, after a phase, after the batch, after an epoch). ``advance(g)``
pulls from it until it reaches a boundary of granularity ``g``; ``run`` pulls batches until a
breakpoint fires. The headless runner and the TUI both drive this same object.
"""

from __future__ import annotations

import math
import threading
import traceback
from collections import deque
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import numpy as np

from ..module import Module, add_backward_hook, add_forward_hook, no_grad
from ..random import get_rng_state, set_rng_state
from ..sharing import parameter_owners
from .experiment import Experiment
from .history import History, Snapshot
from .inspect import Inspection, inspect_array
from .layerwise import PausablePass
from .probes import Probes, array_stats, squared_norm
from .records import (
    Advance,
    EpochRecord,
    Granularity,
    LayerEvent,
    ModuleProbe,
    Severity,
    State,
    StepRecord,
    Warning,
)
from .rules import RuleBook
from .settings import Breakpoints, Settings, fired_breakpoints
from .structure import ModuleInfo, model_structure

_RECENT_RECORDS = 16  # StepRecords an Advance carries back from a long run
_VAL_CHUNK = 1024


class StepFailed(Exception):
    """The user's model, loss or optimizer raised during a step; training was put back.

    Attributes:
        phase: the phase that was running ('forward', 'loss', 'backward', 'update', ...).
        module: path of the innermost module of the model that was running when it raised
            ('' is the model itself), or None when no module was (the loss, the optimizer).
        place: the phase and the module, for messages: "forward of module '2' (Boom)".
        summary: one line, ``ExceptionType: message``.
        traceback_text: the full traceback as text.
    """

    def __init__(
        self,
        phase: str,
        exc: BaseException,
        traceback_text: str,
        module: tuple[str, str] | None = None,
    ) -> None:
        self.phase = phase
        self.exception = exc
        self.module = module[0] if module else None
        if module is None:
            self.place = phase
        else:
            path, type_name = module
            who = f"module '{path}'" if path else "the model"
            self.place = f"{phase} of {who} ({type_name})"
        self.summary = f"{type(exc).__name__}: {exc}"
        self.traceback_text = traceback_text
        super().__init__(f"step failed during {self.place}: {self.summary}")


def _copy_tree(value: Any) -> Any:
    """Copy of nested dicts/lists holding arrays (an optimizer's or a loader's state).

    Arrays are copied; numbers and strings are immutable and shared as they are.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_tree(v) for v in value)
    return value


class Stepper:
    """Steps an ``Experiment``'s training and records what every step did.

    Args:
        experiment: the model, loss, optimizer and data (see ``Experiment``).
        settings: rule thresholds and memory sizes.
        breakpoints: what pauses ``run`` (divergence and convergence by default).
    """

    def __init__(
        self,
        experiment: Experiment,
        settings: Settings | None = None,
        breakpoints: Breakpoints | None = None,
    ) -> None:
        self.experiment = experiment
        self.model: Module = experiment.model
        self.settings = settings or Settings()
        if self.settings.snapshot_depth < 0:
            raise ValueError(f"snapshot_depth must be >= 0, got {self.settings.snapshot_depth}")
        self.breakpoints = breakpoints or Breakpoints()
        self.history = History(self.settings.history_capacity)
        self.state = State.DEFINED
        self.step = 0
        self.epoch = 0
        self.batch = 0
        self.last_step: StepRecord | None = None
        self.last_layer: LayerEvent | None = None
        self.active_path: str | None = None
        # The batch in progress, between its phases: its loss once computed, and the layer
        # events so far when stepping into layers (cleared when the next batch starts).
        self.batch_loss: float | None = None
        self.layer_events: tuple[LayerEvent, ...] = ()
        self._warnings: deque[Warning] = deque(maxlen=self.settings.warning_capacity)
        self._epochs: list[EpochRecord] = []
        self._lock = threading.RLock()
        self._rules = RuleBook(self.settings)
        self._active_conditions: frozenset[str] = frozenset()
        self._snapshots: deque[Snapshot] = deque(maxlen=self.settings.snapshot_depth)
        self._recent_records: deque[StepRecord] = deque(maxlen=self.settings.snapshot_depth + 1)
        self._last_loss: float | None = None
        self._granularity = Granularity.BATCH
        self._phase = "registration"
        self._pass: PausablePass | None = None
        self._running = False  # inside run(): see mid_batch
        self._forward_calls: list[tuple[Module, Any, Any]] = []
        self._new_steps: deque[StepRecord] = deque(maxlen=_RECENT_RECORDS)
        self._new_epochs: list[EpochRecord] = []
        self._new_warnings: list[Warning] = []
        self._fired: list[str] = []
        self._classification: bool | None = None  # decided on the first batch's output
        self._converged_at: int | None = None  # step where a run last paused on convergence
        self._register()
        self._gen = self._training()

    # ------------------------------------------------------------------ registration
    def _register(self) -> None:
        """The lesson's 'parameters registered': walk the tree once and keep what steps need."""
        model = self.model
        self._module_paths = {id(m): path for path, m in model.named_modules()}
        self._owners = parameter_owners(model)
        self._params = list(model.named_parameters())
        self._buffers = [
            (path, buf, not self._is_non_persistent(path)) for path, buf in model.named_buffers()
        ]
        self._structure = model_structure(model)
        self._path_to_param = {name: p for _, p in self._params for name in self._owners[id(p)]}
        self._path_to_buffer = {path: buf for path, buf, _ in self._buffers}
        self._probes = Probes(
            [(path, self._owners[id(p)], p) for path, p in self._params],
            self._module_paths,
            [m for _, m in model.named_modules()],
            self._buffers,
        )

    def _is_non_persistent(self, path: str) -> bool:
        module_path, _, name = path.rpartition(".")
        module = self.model
        for part in module_path.split(".") if module_path else ():
            module = module._modules[part]
        return name in module._non_persistent

    def structure(self) -> tuple[ModuleInfo, ...]:
        return self._structure

    @property
    def num_parameters(self) -> tuple[int, int]:
        """(deduplicated count, naive count that counts a shared weight once per owner)."""
        return self.model.num_parameters(True), self.model.num_parameters(False)

    # ------------------------------------------------------------------ public read-outs
    @property
    def warnings(self) -> tuple[Warning, ...]:
        return tuple(self._warnings)

    @property
    def epochs(self) -> tuple[EpochRecord, ...]:
        return tuple(self._epochs)

    @property
    def lr(self) -> float:
        return float(self.experiment.optimizer.lr)

    @property
    def rewind_depth(self) -> int:
        """How many steps ``rewind`` can undo now."""
        return len(self._snapshots)

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
            text = _traceback_without_engine(exc)
            phase = self._phase
            module = self._failing_module(exc)
            self._abandon_batch()
            raise StepFailed(phase, exc, text, module) from exc

    def _failing_module(self, exc: BaseException) -> tuple[str, str] | None:
        """(path, type name) of the innermost model module on the traceback, if any."""
        found = None
        tb = exc.__traceback__
        while tb is not None:
            owner = tb.tb_frame.f_locals.get("self")
            if owner is not None and id(owner) in self._module_paths:
                found = (self._module_paths[id(owner)], type(owner).__name__)
            tb = tb.tb_next
        return found

    # ------------------------------------------------------------------ one batch
    def _training(self) -> Generator[Granularity, None, None]:
        if self.state is State.DEFINED:
            self.state = State.REGISTERED
            yield Granularity.PHASE
        while True:
            yield from self._batch()

    def _batch(self) -> Generator[Granularity, None, None]:
        exp = self.experiment
        if self.settings.snapshot_depth:
            self._snapshots.append(self._snapshot())
        self._phase = "data"
        xb, yb, epoch, batch = exp.train_loader.next_batch()
        self.epoch, self.batch = epoch, batch
        for _, p in self._params:  # the registered list: no tree walk on the hot path
            p.zero_grad()

        self.batch_loss = None
        self.layer_events = ()
        self._phase = "forward"
        self.state = State.FORWARD  # entered now: stepping into its layers shows "forward"
        self._forward_calls = []
        remove = add_forward_hook(self._record_forward)
        try:
            output = yield from self._run_pass("forward", lambda: self.model(xb))
        finally:
            remove()
        yield Granularity.PHASE

        self._phase = "loss"
        loss = self.batch_loss = float(exp.loss(output, yb))
        self.state = State.LOSS
        yield Granularity.PHASE

        self._phase = "backward"
        self.state = State.BACKWARD
        grad_output = exp.loss.backward()  # type: ignore[call-arg]  # a loss needs no grad
        # The data needs no gradient: skip the first layer's input gradient where supported
        # (but not when stepping layers or phases, where the user looks at every gradient).
        skip = self.model.accepts_input_grad and self._granularity >= Granularity.BATCH
        options = {"input_grad": False} if skip else {}
        yield from self._run_pass("backward", lambda: self.model.backward(grad_output, **options))
        yield Granularity.PHASE

        self._phase = "update"
        grad_sq = {id(p): squared_norm(p.grad) for _, p in self._params}
        lr = self.lr
        exp.optimizer.step()
        self._phase = "probes"
        record = self._make_record(loss, output, yb, grad_sq, lr)
        self._forward_calls = []
        ended_epoch = batch == len(exp.train_loader) - 1
        if ended_epoch:
            self._phase = "validation"
            self._validate(record)
        yield Granularity.EPOCH if ended_epoch else Granularity.BATCH

    def _is_model_leaf(self, module: Module) -> bool:
        """A module of this model without sub-modules: a layer (not a container, not the loss)."""
        return id(module) in self._module_paths and not module._modules

    def _record_forward(self, module: Module, inputs: tuple, output: Any) -> None:
        if self._is_model_leaf(module):
            self._forward_calls.append((module, inputs[0] if inputs else None, output))

    def _run_pass(self, direction: str, fn: Callable[[], Any]) -> Generator[Granularity, None, Any]:
        """Run a forward or backward pass, pausing after each leaf module when stepping layers."""
        if self._granularity is Granularity.PHASE:
            return self._run_recorded(direction, fn)
        if self._granularity is not Granularity.LAYER:
            return fn()
        self._pass = stepping = PausablePass(fn, direction, self._module_paths)
        try:
            while (event := stepping.resume()) is not None:
                module, args = event
                self.active_path = self._module_paths[id(module)]
                self.last_layer = self._layer_event(direction, module, args)
                self.layer_events += (self.last_layer,)
                yield Granularity.LAYER
            return stepping.result()
        finally:
            stepping.cancel()  # no-op when finished; unblocks the thread when abandoned
            if self._pass is stepping:
                self._pass = None
                self.active_path = None

    def _run_recorded(self, direction: str, fn: Callable[[], Any]) -> Any:
        """Run a pass whole, with an event per leaf module: stepping phases shows them too."""

        def record(module: Module, *args: Any) -> None:
            if self._is_model_leaf(module):
                self.layer_events += (self._layer_event(direction, module, args),)

        remove = (add_forward_hook if direction == "forward" else add_backward_hook)(record)
        try:
            return fn()
        finally:
            remove()

    def _layer_event(self, direction: str, module: Module, args: tuple) -> LayerEvent:
        first, second = args  # forward: (inputs, output); backward: (grad_output, grad_input)
        grad_norm = None
        if direction == "forward":
            first = first[0] if first else None
        else:
            grad_norm = self._final_grad_norm(module)
        shape_in = tuple(np.shape(first)) if first is not None else ()
        return LayerEvent(
            direction,
            self._module_paths[id(module)],
            type(module).__name__,
            shape_in,
            tuple(np.shape(second)),
            array_stats(np.asarray(second)),
            grad_norm,
        )

    def _final_grad_norm(self, module: Module) -> float | None:
        """Norm of the gradient of ``module``'s own parameters, right after its backward.

        None when that gradient is not final yet: a module called twice in the forward, or a
        parameter shared with another module, gets more gradient later in the backward.
        """
        own = [p for p in module._parameters.values() if p is not None]
        calls = sum(1 for m, _, _ in self._forward_calls if m is module)
        if not own or calls > 1 or any(len(self._owners[id(p)]) > 1 for p in own):
            return None
        grads = [p.peek_grad() for p in own]  # None: this backward added nothing to it
        return math.sqrt(sum(squared_norm(g) for g in grads if g is not None))

    def _make_record(
        self, loss: float, output: Any, targets: np.ndarray, grad_sq: dict[int, float], lr: float
    ) -> StepRecord:
        params, norms = self._probes.params(grad_sq, lr)
        modules = self._probes.modules(self._forward_calls, norms, lr)
        buffers = self._probes.buffers()
        accuracy = None
        if self._classification is None:
            self._classification = _is_classification(output, targets)
        if self._classification:
            accuracy = np.count_nonzero(output.argmax(axis=1) == targets) / len(targets)
        self.step += 1
        record = StepRecord(
            step=self.step,
            epoch=self.epoch,
            batch=self.batch,
            loss=loss,
            accuracy=accuracy,
            grad_norm=math.sqrt(sum(grad_sq.values())),
            lr=lr,
            modules=modules,
            params=params,
            buffers=buffers,
        )
        record = self._apply_rules(record, output)
        self.history.append(record.step, record.loss, record.accuracy, record.grad_norm, lr)
        self.last_step = record
        self._recent_records.append(record)
        self._new_steps.append(record)
        self._last_loss = loss
        return record

    def _apply_rules(self, record: StepRecord, output: Any) -> StepRecord:
        num_classes = output.shape[1] if self._classification else None
        previous_loss = self._last_loss
        conditions = self._rules.evaluate(record, num_classes)
        new = [c.warning for c in conditions if c.key not in self._active_conditions]
        self._active_conditions = frozenset(c.key for c in conditions)
        diverging = [c.warning for c in conditions if c.warning.severity is Severity.DIVERGED]
        converged = any(c.warning.severity is Severity.CONVERGED for c in conditions)
        # Convergence pauses a run once (until rewound past it): the plateau test flickers on
        # and off near its threshold. Divergence pauses every step it holds, since training
        # on from a diverged state only makes it worse.
        converged_now = converged and self._converged_at is None
        if converged_now:
            self._converged_at = record.step
        if diverging:
            self.state = State.DIVERGED
        elif converged:
            self.state = State.CONVERGED
        else:
            self.state = State.UPDATED
        self._warnings.extend(new)
        self._new_warnings.extend(new)
        reason = "; ".join(w.message for w in diverging)
        self._fired = fired_breakpoints(
            self.breakpoints,
            record,
            previous_loss,
            bool(diverging),
            converged_now,
            self.settings,
            reason,
        )
        return record._replace(warnings=tuple(new)) if new else record

    def _validate(self, record: StepRecord) -> None:
        exp = self.experiment
        val_loss = val_acc = None
        data = exp.val_data
        if data is not None and len(data):
            total = correct = 0.0
            self.model.eval()
            try:
                with no_grad():
                    for start in range(0, len(data), _VAL_CHUNK):
                        xv, yv = data[np.arange(start, min(start + _VAL_CHUNK, len(data)))]
                        out = self.model(xv)
                        total += float(exp.loss(out, yv)) * len(yv)
                        if _is_classification(out, yv):
                            correct += float(np.count_nonzero(out.argmax(axis=1) == yv))
            finally:
                self.model.train()
            val_loss = total / len(data)
            val_acc = correct / len(data) if _is_classification(out, yv) else None
        epoch_record = EpochRecord(record.epoch, record.step, record.loss, val_loss, val_acc)
        self._epochs.append(epoch_record)
        del self._epochs[: -self.settings.history_capacity]  # bounded, like the step history
        self._new_epochs.append(epoch_record)
        warning = self._rules.evaluate_epoch(epoch_record)
        if warning is not None:
            self._warnings.append(warning)
            self._new_warnings.append(warning)

    # ------------------------------------------------------------------ snapshots and rewind
    def _snapshot(self) -> Snapshot:
        return Snapshot(
            step=self.step,
            epoch=self.epoch,
            batch=self.batch,
            state=self.state,
            params=tuple(p.data.copy() for _, p in self._params),
            buffers=tuple(buf.copy() for _, buf, _ in self._buffers),
            optimizer=_copy_tree(self.experiment.optimizer.state_dict()),
            rng=get_rng_state(),
            loader=self.experiment.train_loader.state_dict(),  # already a copy
            rules=self._rules.state_dict(),
            active_conditions=self._active_conditions,
            last_loss=self._last_loss,
        )

    def _restore(self, snap: Snapshot) -> None:
        for (_, p), saved in zip(self._params, snap.params, strict=True):
            np.copyto(p.data, saved)
            p.zero_grad()
        for (_, buf, _), saved in zip(self._buffers, snap.buffers, strict=True):
            np.copyto(buf, saved)
        lr = self.lr  # the user's latest lr survives a rewind: "rewind, lower lr, go on"
        self.experiment.optimizer.load_state_dict(_copy_tree(snap.optimizer))
        self.experiment.optimizer.lr = lr
        set_rng_state(snap.rng)
        self.experiment.train_loader.load_state_dict(_copy_tree(snap.loader))
        self._rules.load_state_dict(snap.rules)
        self._active_conditions = snap.active_conditions
        self._last_loss = snap.last_loss
        self.step, self.epoch, self.batch = snap.step, snap.epoch, snap.batch
        self.state = snap.state
        if self._converged_at is not None and self._converged_at > snap.step:
            self._converged_at = None
        self.history.truncate_after(snap.step)
        self._epochs = [e for e in self._epochs if e.step <= snap.step]
        kept = [w for w in self._warnings if w.step <= snap.step]
        self._warnings.clear()
        self._warnings.extend(kept)
        while self._recent_records and self._recent_records[-1].step > snap.step:
            self._recent_records.pop()
        self.last_step = self._recent_records[-1] if self._recent_records else None
        self.last_layer = None
        self.active_path = None
        self.batch_loss = None
        self.layer_events = ()
        self._forward_calls = []
        self._gen = self._training()

    def _abandon_batch(self) -> None:
        """Put everything back as it was before the batch in progress (after a failure).

        Without snapshots (``snapshot_depth=0``) only the batch is abandoned: a failure inside
        the optimizer's step may then leave some parameters updated.
        """
        if self._pass is not None:
            self._pass.cancel()
            self._pass = None
        if self.state is State.DEFINED or not self._snapshots:
            self._gen = self._training()
            self.layer_events = ()
            self.batch_loss = self.active_path = None
            self._forward_calls = []
            if self.state is not State.DEFINED:
                self.state = State.UPDATED if self.step else State.REGISTERED
            return
        self._restore(self._snapshots.pop())

    def close(self) -> None:
        """Cancel a pass parked in the middle (stepping layers) and release what the stepper
        holds on the model. The stepper can still be read afterwards."""
        with self._lock:
            if self._pass is not None:
                self._pass.cancel()
                self._pass = None
                self.active_path = None

    def __enter__(self) -> Stepper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def mid_batch(self) -> bool:
        """Paused inside a batch (stepping layers or phases). False during ``run()``, which is
        inside some batch most of the time: a display would flicker between the two."""
        if self._running:
            return False
        return self.state in (State.FORWARD, State.LOSS, State.BACKWARD) or self._pass is not None

    def rewind(self, k: int = 1) -> int:
        """Undo the last ``k`` steps (a batch in progress counts as one); returns how many.

        Parameters, buffers, optimizer state, random generator and data position return
        exactly, so running the same steps again reproduces the same losses bit for bit. The
        learning rate the user set last is kept.
        """
        with self._lock:
            k = min(k, len(self._snapshots))
            if k <= 0:
                return 0
            if self._pass is not None:
                self._pass.cancel()
                self._pass = None
            for _ in range(k - 1):
                self._snapshots.pop()
            self._restore(self._snapshots.pop())
            return k

    # ------------------------------------------------------------------ inspection, checkpoints
    def inspect(self, path: str) -> Inspection:
        """Details of a parameter (any owner's name), buffer or module path.

        Raises:
            KeyError: no such path, with the valid kinds of path in the message.
        """
        s = self.settings
        if path in self._path_to_param:
            p = self._path_to_param[path]
            return inspect_array(
                "parameter",
                path,
                self._owners[id(p)],
                p.data,
                p.peek_grad(),  # never allocates: the training thread may be adding to it
                s.histogram_bins,
                s.heatmap_shape,
            )
        if path in self._path_to_buffer:
            buf = self._path_to_buffer[path]
            return inspect_array(
                "buffer", path, (path,), buf, None, s.histogram_bins, s.heatmap_shape
            )
        for info in self._structure:
            if info.path == path:
                probe = self.module_probe(path)
                size = sum(p.size for p in info.params)
                return Inspection(
                    "module",
                    path,
                    (path,),
                    probe.output_shape if probe else (),
                    "",
                    size,
                    probe.output if probe else None,
                    None,
                    None,
                    None,
                    None,
                    probe,
                )
        raise KeyError(f"'{path}' is neither a parameter, a buffer nor a module of the model")

    def module_probe(self, path: str) -> ModuleProbe | None:
        if self.last_step is None:
            return None
        return next((m for m in self.last_step.modules if m.path == path), None)

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Save the model's state_dict (safetensors, written atomically); returns the path."""
        from ..serialization import save

        target = (
            Path(path)
            if path is not None
            else Path("checkpoints", f"{self.experiment.name}-step{self.step}.safetensors")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            save(self.model, target)
        return target.resolve()


def _traceback_without_engine(exc: BaseException) -> str:
    """The traceback minus the engine's own frames: the user's code and the layers it called."""
    engine_dir = Path(__file__).resolve().parent
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve().parent != engine_dir
    ]
    return (
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_list(frames))
        + "".join(traceback.format_exception_only(type(exc), exc))
    )


def _is_classification(output: Any, targets: np.ndarray | None) -> bool:
    if not isinstance(output, np.ndarray) or output.ndim != 2:
        return False
    return targets is None or (targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer))
