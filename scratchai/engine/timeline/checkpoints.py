"""Time travel: reach any earlier step by restoring a checkpoint and replaying from it.

Two kinds of saved state:

- a *checkpoint* (every ``every`` steps, and always step 0): everything training touches, the
  parameters, buffers and optimizer state included, and every random generator (NumPy's global
  one and Python's too, for a learner's own Dropout: ``randomness.py``). Checkpoints stay
  within a memory budget: when they would exceed it, every other one is dropped and ``every``
  doubles, so a run of any length keeps a bounded number of them spread over its whole length.
- a *light* snapshot before each batch: the state a batch changes *before* its update (data
  position, random generator, buffers such as BatchNorm's running statistics, the stepper's
  counters). A batch that fails or is interrupted before its update is undone from it exactly
  and cheaply; one that fails later is undone by a checkpoint and a replay.

Replay is deterministic: the same data order, random numbers and learning rates (kept per step
in ``lrs``), so a step reached by replay equals the original bit for bit, provided the user's
code is deterministic too (no state of its own that changes from call to call).

The stepper's own counters and rule state ride along, opaque here (``engine``).
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from scratchai.engine.experiment import Experiment
from scratchai.engine.timeline.randomness import (
    RandomStates,
    capture_random,
    globals_drawn_since,
    random_nbytes,
    restore_random,
)
from scratchai.engine.timeline.run_lengths import RunLengths
from scratchai.engine.views.model_index import ModelIndex
from scratchai.random import get_rng_state, set_rng_state

MIB = 1024 * 1024


@dataclass(slots=True)
class Light:
    """The state before a batch that the batch changes before its update."""

    step: int
    buffers: tuple[np.ndarray, ...]
    rng: dict
    loader: dict
    engine: Any


@dataclass(slots=True)
class Checkpoint:
    """Everything needed to put training back exactly where it was at ``step``."""

    light: Light
    params: tuple[np.ndarray, ...]
    optimizer: dict
    nbytes: int
    random: RandomStates  # NumPy's global and Python's generators too (a user's own Dropout)


class Timeline:
    """The saved states of one training run, for rewinding to any of its steps.

    Args:
        index: the model's parameters and buffers, in a fixed order.
        experiment: its optimizer and loader are saved and restored.
        every: steps between checkpoints at first (it doubles as the run grows).
        budget_bytes: memory for checkpoints; None: 4 copies of the weights, at least 16 MiB.
    """

    def __init__(
        self,
        index: ModelIndex,
        experiment: Experiment,
        every: int = 25,
        budget_bytes: int | None = None,
    ) -> None:
        if every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {every}")
        self._index = index
        self._experiment = experiment
        weights = sum(p.data.nbytes for _, _, p in index.params)
        self.budget = budget_bytes if budget_bytes is not None else max(4 * weights, 16 * MIB)
        self.every = every
        self.checkpoints: dict[int, Checkpoint] = {}
        self.light: Light | None = None
        # the lr step s used is lrs[s - 1], on this timeline; held as runs (a list grew 8
        # bytes a step, 8 MiB per million steps: the slow creep of a long run's memory)
        self.lrs = RunLengths()
        self._checkpoint_bytes = 0  # the size of one checkpoint (known after the first)
        self._held = 0  # what the checkpoints hold, kept as they come and go

    @property
    def nbytes(self) -> int:
        """Memory the checkpoints hold now."""
        return self._held

    # ------------------------------------------------------------------ saving
    def checkpoint_due(self, step: int) -> bool:
        """Whether ``before_batch(step, ...)`` will make a checkpoint."""
        return step % self.every == 0 and step not in self.checkpoints

    def before_batch(self, step: int, engine: Any) -> None:
        """Save what the batch about to run (step + 1) will change; a checkpoint if it is due."""
        self.light = Light(
            step,
            tuple(buf.copy() for _, buf, _ in self._index.buffers),
            get_rng_state(),
            self._experiment.train_loader.state_dict(),  # already a copy
            engine,
        )
        if self.checkpoint_due(step):
            self._make_room()  # thin out first: the budget holds at its peak too
            fits = self.nbytes + self._checkpoint_bytes <= self.budget
            if step % self.every == 0 and (fits or not self.checkpoints):  # step 0 always
                self._checkpoint(self.light)

    def _make_room(self) -> None:
        """Thin the checkpoints until one more fits the budget: every other one goes and
        ``every`` doubles (step 0 always stays)."""
        size = self._checkpoint_bytes
        while size and self.nbytes + size > self.budget and len(self.checkpoints) > 1:
            self.every *= 2
            for step in [s for s in self.checkpoints if s and s % self.every]:
                self._drop(step)

    def _checkpoint(self, light: Light) -> None:
        params = tuple(p.data.copy() for _, _, p in self._index.params)
        optimizer = copy_tree(self._experiment.optimizer.state_dict())
        nbytes = sum(a.nbytes for a in params) + sum(b.nbytes for b in light.buffers)
        random = capture_random()
        # the data order and the random generators count too: at the lesson's size they
        # hold more than the weights
        nbytes += _tree_bytes(optimizer) + _tree_bytes(light.loader) + random_nbytes(random)
        self._checkpoint_bytes = max(self._checkpoint_bytes, nbytes)
        self.checkpoints[light.step] = Checkpoint(light, params, optimizer, nbytes, random)
        self._held += nbytes

    def _drop(self, step: int) -> None:
        self._held -= self.checkpoints.pop(step).nbytes

    def record_lr(self, step: int, lr: float) -> None:
        """The lr step ``step`` used (a replay writes the same value again)."""
        if step <= len(self.lrs):
            self.lrs[step - 1] = lr
        else:
            self.lrs.append(lr)

    # ------------------------------------------------------------------ restoring
    def undo_batch(self) -> Any:
        """Put back the state before the batch in progress, when it did not reach its update
        (parameters and optimizer untouched); returns the stepper state saved with it."""
        light = self.light
        assert light is not None, "undo_batch() before any batch"
        self._restore_light(light)
        return light.engine

    def restore(self, step: int) -> tuple[int, Any]:
        """Restore the latest checkpoint at or before ``step``; the caller replays from there.

        Returns:
            (the checkpoint's step, the stepper state saved with it).
        """
        start = max(s for s in self.checkpoints if s <= step)
        checkpoint = self.checkpoints[start]
        for (_, _, p), saved in zip(self._index.params, checkpoint.params, strict=True):
            np.copyto(p.data, saved)
            p.zero_grad()
        optimizer = self._experiment.optimizer
        lr = optimizer.lr  # the user's latest lr survives: "rewind, lower lr, go on"
        optimizer.load_state_dict(copy_tree(checkpoint.optimizer))
        optimizer.lr = lr
        restore_random(checkpoint.random)
        self._restore_light(checkpoint.light)
        self.light = None
        return start, checkpoint.light.engine

    def copy_at(self, step: int) -> Experiment:
        """A copy of the experiment whose model, buffers and optimizer are checkpoint
        ``step``'s (the lr is the user's latest, as after a restore); training is untouched."""
        checkpoint = self.checkpoints[step]
        exp = self._experiment
        copies: dict[int, Any] = {}  # id of an original -> its copy (deepcopy's memo)
        model, loss, optimizer = copy.deepcopy((exp.model, exp.loss, exp.optimizer), copies)
        # through the memo, not a new index of the copy: a parameter created in a forward
        # since (warned as late) would shift a positional pairing
        for (_, _, p), saved in zip(self._index.params, checkpoint.params, strict=True):
            np.copyto(copies[id(p)].data, saved)
        for (_, buf, _), saved in zip(self._index.buffers, checkpoint.light.buffers, strict=True):
            np.copyto(copies[id(buf)], saved)
        lr = optimizer.lr
        optimizer.load_state_dict(copy_tree(checkpoint.optimizer))
        optimizer.lr = lr
        return dataclasses.replace(exp, model=model, loss=loss, optimizer=optimizer)

    def undo_is_exact(self) -> bool:
        """Whether ``undo_batch`` gives back every random draw of the batch in progress: the
        light snapshot keeps only the library's generator (NumPy's global one costs tens of
        microseconds a batch to save), so not when the others drew since the checkpoint."""
        light = self.light
        if light is None or not self.checkpoints:
            return True
        latest = self.checkpoints[max(s for s in self.checkpoints if s <= light.step)]
        return not globals_drawn_since(latest.random)

    def forget_after(self, step: int) -> None:
        """Training goes on from ``step`` on a new timeline: later states are not its past."""
        for later in [s for s in self.checkpoints if s > step]:
            self._drop(later)
        del self.lrs[step:]

    def _restore_light(self, light: Light) -> None:
        for (_, buf, _), saved in zip(self._index.buffers, light.buffers, strict=True):
            np.copyto(buf, saved)
        for _, _, p in self._index.params:
            p.zero_grad()
        set_rng_state(light.rng)
        self._experiment.train_loader.load_state_dict(copy_tree(light.loader))


def copy_tree(value: Any) -> Any:
    """Copy of nested dicts/lists holding arrays (an optimizer's or a loader's state).

    Arrays are copied; numbers and strings are immutable and shared as they are.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(copy_tree(v) for v in value)
    return value


def _tree_bytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, dict):
        return sum(_tree_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tree_bytes(v) for v in value)
    return 0
