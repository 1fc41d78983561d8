"""What a stepper can be asked without stepping: inspect a path, the flowchart, train vs eval
mode, the backward check, and writing the model or the run to a file.

``stepper.views`` answers them from the stepper's records (immutable: the app may read them
while a job runs); what runs the model (the backward check, train vs eval) takes the stepper's
lock.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from scratchai.atomic_write import write_atomically
from scratchai.engine.checks.backward import BackwardReport
from scratchai.engine.observe.records import ModuleProbe
from scratchai.engine.timeline.export import check_export_path, export_text
from scratchai.engine.timeline.file_names import safe_stem, write_new
from scratchai.engine.views.flow import Flow
from scratchai.engine.views.inspect import Inspection, inspect_path
from scratchai.engine.views.modes import compare_modes
from scratchai.interop.names import state_to_torch

if TYPE_CHECKING:
    from scratchai.engine.stepper import Stepper


class Readouts:
    """A stepper's read-outs (``stepper.views``).

    Args:
        stepper: the stepper read (it owns this object).
    """

    def __init__(self, stepper: Stepper) -> None:
        self._stepper = stepper

    def check_backward(self, paths: Iterable[str] | None = None) -> BackwardReport:
        """Check the backward of the modules at ``paths`` (default all), each alone, on the
        current batch; see ``BackwardChecks.on_demand``. Training is not touched."""
        st = self._stepper
        with st._lock, np.errstate(all="ignore"):
            return st._checks.on_demand(st._last_batch, paths, st.step)

    # ------------------------------------------------------------------ inspection, checkpoints
    def inspect(self, path: str, call: int = 1) -> Inspection:
        """Details of a parameter (any owner's name), buffer or module path; for a module
        called several times in the forward, of its ``call``-th call (1-based).

        Raises:
            KeyError: no such path, with the valid kinds of path in the message.
        """
        st = self._stepper
        s = st.settings
        probe = self.module_probe(path, call)
        shares = st.last_step.grad_shares if st.last_step else ()
        return inspect_path(
            st.index, path, probe, s.histogram_bins, s.heatmap_shape, shares, st._passes.grad_of
        )

    def module_probe(self, path: str, call: int = 1) -> ModuleProbe | None:
        """The last step's probe of the ``call``-th call (1-based) of the module ``path``."""
        st = self._stepper
        if st.last_step is None:
            return None
        calls = [m for m in st.last_step.modules if m.path == path]
        return calls[call - 1] if 0 < call <= len(calls) else None

    def flow(self) -> Flow:
        """The forward pass as the lesson's flowchart: one node per module call of the last
        step (or of the batch in progress before the first), with its numbers and this
        batch's events (see ``flow.Flow``)."""
        st = self._stepper
        # No lock: the app reads this while a run holds it (every record read is immutable).
        events = st.layer_events if st.mid_batch else ()
        active = st.last_layer if st.active_path is not None else None
        return st._flow.build_for(
            st.last_step, events, st._model_shapes, st.batch_loss, st.step, active
        )

    def compare_modes(self) -> tuple[tuple[ModuleProbe, ...], tuple[ModuleProbe, ...]] | None:
        """The last trained batch through the model in train mode and in eval mode, probed
        layer by layer, changing nothing (see ``modes.compare_modes``); None before a batch."""
        st = self._stepper
        with st._lock:
            if st._last_batch is None:
                return None
            return compare_modes(st.index, st._monitor.probes, st._last_batch)

    def first_loss(self) -> float | None:
        """Step 1's loss (what the init-loss rule judged), while the history holds step 1 on a
        row of its own (the first 8,192 steps, or always for a short run); None before step 1
        or once the oldest rows are averages. The checklist (``c``) judges this number."""
        st = self._stepper
        with st._lock:
            if st.step < 1:
                return None
            table = st.history.table()
        fields = st.history.fields
        if not len(table) or table[0, fields.index("step")] != 1:
            return None
        return float(table[0, fields.index("loss")])

    def export(self, path: str | Path | None = None) -> Path:
        """Write the run's history (CSV or JSON by suffix; default
        ``exports/NAME-stepN.csv``); returns the path written. An earlier file is never
        replaced: the name gets ``-2``, ``-3``, ... (``file_names.write_new``).

        Raises:
            ValueError: a suffix other than .csv or .json (nothing is written).
            OSError: the file cannot be written.
        """
        st = self._stepper
        name = st.experiment.name
        stem = f"{safe_stem(name)}-step{st.step}"  # the name is text, never a path
        target = Path(path) if path is not None else Path("exports", f"{stem}.csv")
        check_export_path(target)
        with st._lock:
            table, epochs = st.history.table(), st.epochs
        text = export_text(name, st.history.fields, table, epochs, target.suffix)
        return write_new(target, partial(write_atomically, payload=text.encode())).resolve()

    def checkpoint_name(self) -> str:
        """``NAME-stepN.safetensors`` (``-torch`` before the suffix in PyTorch's names: the
        two namings of one step must not overwrite each other)."""
        st = self._stepper
        names = "-torch" if st.checkpoint_names == "torch" else ""
        return f"{safe_stem(st.experiment.name)}-step{st.step}{names}.safetensors"

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Save the model's state_dict (safetensors, written atomically), in the naming chosen
        by ``checkpoint_names``; returns the path written. An earlier file is never replaced:
        the name gets ``-2``, ``-3``, ... (``file_names.write_new``)."""
        st = self._stepper
        from scratchai.serialization import save

        target = Path(path) if path is not None else Path("checkpoints", self.checkpoint_name())
        with st._lock:
            if st.checkpoint_names == "torch":
                # "pt": the format tag PyTorch-side loaders of safetensors files expect
                state: Any = state_to_torch(st.model)
                written = write_new(target, partial(save, state, metadata={"format": "pt"}))
            else:
                written = write_new(target, partial(save, st.model))
        return written.resolve()
