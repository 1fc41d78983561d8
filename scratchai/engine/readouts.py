"""What a stepper can be asked without stepping: inspect a path, the flowchart, train vs eval
mode, the backward check, and writing the model or the run to a file.

A part of ``Stepper`` (a mixin), in its own file so that the state machine's file stays about
the state machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..file_names import safe_stem
from ..interop.names import state_to_torch
from .backward_checks import BackwardChecks
from .checks.backward import BackwardReport
from .export import export_run
from .flow import Flow, FlowBuilder
from .history import History
from .inspect import Inspection, inspect_path
from .model_index import ModelIndex
from .modes import compare_modes
from .monitor import Monitor
from .passes import Passes
from .records import LayerEvent, ModuleProbe, StepRecord
from .settings import Settings


class Readouts:
    """The stepper's read-outs. The attributes are the stepper's own (see ``Stepper``)."""

    settings: Settings
    index: ModelIndex
    history: History
    experiment: Any
    model: Any
    step: int
    last_step: StepRecord | None
    batch_loss: float | None
    checkpoint_names: str
    _lock: threading.RLock
    _checks: BackwardChecks
    _passes: Passes
    _monitor: Monitor
    _flow: FlowBuilder
    _model_shapes: Any
    _last_batch: Any

    if TYPE_CHECKING:  # provided by Stepper

        @property
        def layer_events(self) -> tuple[LayerEvent, ...]: ...
        @property
        def mid_batch(self) -> bool: ...
        @property
        def active_path(self) -> str | None: ...
        @property
        def last_layer(self) -> LayerEvent | None: ...
        @property
        def epochs(self) -> tuple: ...

    def check_backward(self, paths: Iterable[str] | None = None) -> BackwardReport:
        """Check the backward of the modules at ``paths`` (default all), each alone, on the
        current batch; see ``BackwardChecks.on_demand``. Training is not touched."""
        with self._lock, np.errstate(all="ignore"):
            return self._checks.on_demand(self._last_batch, paths, self.step)

    # ------------------------------------------------------------------ inspection, checkpoints
    def inspect(self, path: str, call: int = 1) -> Inspection:
        """Details of a parameter (any owner's name), buffer or module path; for a module
        called several times in the forward, of its ``call``-th call (1-based).

        Raises:
            KeyError: no such path, with the valid kinds of path in the message.
        """
        s = self.settings
        probe = self.module_probe(path, call)
        shares = self.last_step.grad_shares if self.last_step else ()
        return inspect_path(
            self.index, path, probe, s.histogram_bins, s.heatmap_shape, shares, self._passes.grad_of
        )

    def module_probe(self, path: str, call: int = 1) -> ModuleProbe | None:
        """The last step's probe of the ``call``-th call (1-based) of the module ``path``."""
        if self.last_step is None:
            return None
        calls = [m for m in self.last_step.modules if m.path == path]
        return calls[call - 1] if 0 < call <= len(calls) else None

    def flow(self) -> Flow:
        """The forward pass as the lesson's flowchart: one node per module call of the last
        step (or of the batch in progress before the first), with its numbers and this
        batch's events (see ``flow.Flow``)."""
        # No lock: the app reads this while a run holds it (every record read is immutable).
        events = self.layer_events if self.mid_batch else ()
        active = self.last_layer if self.active_path is not None else None
        return self._flow.build_for(
            self.last_step, events, self._model_shapes, self.batch_loss, self.step, active
        )

    def compare_modes(self) -> tuple[tuple[ModuleProbe, ...], tuple[ModuleProbe, ...]] | None:
        """The last trained batch through the model in train mode and in eval mode, probed
        layer by layer, changing nothing (see ``modes.compare_modes``); None before a batch."""
        with self._lock:
            if self._last_batch is None:
                return None
            return compare_modes(self.index, self._monitor.probes, self._last_batch)

    def export(self, path: str | Path | None = None) -> Path:
        """Write the run's history (CSV or JSON by suffix; default
        ``exports/NAME-stepN.csv``); returns the path."""
        name = self.experiment.name
        stem = f"{safe_stem(name)}-step{self.step}"  # the name is text, never a path
        target = Path(path) if path is not None else Path("exports", f"{stem}.csv")
        with self._lock:
            table, epochs = self.history.table(), self.epochs
        return export_run(name, self.history.fields, table, epochs, target)

    def checkpoint_name(self) -> str:
        """``NAME-stepN.safetensors`` (``-torch`` before the suffix in PyTorch's names: the
        two namings of one step must not overwrite each other)."""
        names = "-torch" if self.checkpoint_names == "torch" else ""
        return f"{safe_stem(self.experiment.name)}-step{self.step}{names}.safetensors"

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Save the model's state_dict (safetensors, written atomically), in the naming chosen
        by ``checkpoint_names``; returns the path."""
        from ..serialization import save

        target = Path(path) if path is not None else Path("checkpoints", self.checkpoint_name())
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self.checkpoint_names == "torch":
                # "pt": the format tag PyTorch-side loaders of safetensors files expect
                save(state_to_torch(self.model), target, metadata={"format": "pt"})
            else:
                save(self.model, target)
        return target.resolve()
