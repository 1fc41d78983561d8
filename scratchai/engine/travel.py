"""Going back and forth in a run: rewind, go to any step, restart, undo a failed batch.

A part of ``Stepper`` (a mixin): it moves the stepper along its ``Timeline`` (see
``rewind.py``): back by restoring the checkpoint before the target and replaying to it, forward
by training. Replayed steps use the learning rates they used the first time; afterwards the lr
is the one the user set last ("rewind, lower the lr, go on").
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from .history import History
from .monitor import Monitor
from .passes import Passes
from .records import Advance, Granularity, State, StepRecord
from .rewind import MIB, Timeline


class Counters(NamedTuple):
    """The stepper's own state saved with the model's: its counters and the monitor's."""

    step: int
    epoch: int
    batch: int
    state: State
    monitor: Any


class TimeTravel:
    """The stepper's moves in time. The attributes are the stepper's own (see ``Stepper``)."""

    step: int
    epoch: int
    batch: int
    state: State
    last_step: StepRecord | None
    batch_loss: float | None
    history: History
    experiment: Any
    settings: Any
    index: Any
    _timeline: Timeline | None
    _monitor: Monitor
    _passes: Passes
    _lock: threading.RLock
    _recent_records: deque[StepRecord]
    _phase: str
    _granularity: Granularity
    _gen: Generator[Granularity, None, None]
    _new_steps: deque[StepRecord]
    _travelling: bool
    _running: bool

    if TYPE_CHECKING:  # provided by Stepper

        def _training(self) -> Generator[Granularity, None, None]: ...
        def _next(self) -> Granularity: ...
        def _begin(self, granularity: Granularity) -> None: ...
        def _finish(self, granularity: Granularity) -> Advance: ...
        def run(self, max_steps: int | None = None, should_stop: Any = None) -> Advance: ...
        def _complete_last(self) -> None: ...

    # ------------------------------------------------------------------ public moves
    @property
    def rewind_depth(self) -> int:
        """How many steps ``rewind`` can undo now (every one back to step 0)."""
        if self._timeline is None:
            return 0
        return self.step + (1 if self._in_batch() else 0)

    def rewind(self, k: int = 1) -> int:
        """Undo the last ``k`` steps (a batch in progress counts as one); returns how many.

        Parameters, buffers, optimizer state, random generator and data position return
        exactly, so running the same steps again reproduces the same losses bit for bit. The
        learning rate the user set last is kept.
        """
        with self._lock:
            k = min(k, self.rewind_depth)
            if k > 0 and self._in_batch():
                self._abandon_batch()
                left = k - 1
            else:
                left = k
            if left > 0:
                self._travel(self.step - left)
            return max(k, 0)

    def goto(self, step: int) -> Advance:
        """Go to the end of step ``step``: back by replay (bit for bit what it was), forward
        by training (a breakpoint may stop it first). A batch in progress is abandoned."""
        if step < 0:
            raise ValueError(f"there is no step {step}: steps count from 0 (before training)")
        with self._lock:
            if step < self.step or self._in_batch():
                if self._timeline is None:
                    raise RuntimeError("rewind is off (Settings(rewind=False))")
                if self._in_batch():
                    self._abandon_batch()
                if step < self.step:
                    self._travel(step)
            if step <= self.step:
                self._begin(Granularity.BATCH)
                return self._finish(Granularity.BATCH)
            return self.run(max_steps=step - self.step)

    def restart(self) -> Advance:
        """Back to step 0: the initial weights, data order and random numbers (same seed)."""
        return self.goto(0)

    def initial_experiment(self) -> Any:
        """The experiment as it was at step 0, as a copy (the pre-flight checks judge the
        init, not a trained model); the experiment itself at step 0 or without rewind."""
        with self._lock:
            timeline = self._timeline
            if self.step == 0 or timeline is None or 0 not in timeline.checkpoints:
                return self.experiment
            return timeline.copy_at(0)

    def configure_rewind(self, checkpoint_every: int, budget_mb: float | None) -> None:
        """Change the steps between checkpoints and their memory budget (None: 4 weight
        copies, at least 16 MiB). Checkpoints already saved stay; the new values apply to the
        next ones (a smaller budget thins the old ones when the next one is saved)."""
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
        if budget_mb is not None and not budget_mb > 0:
            raise ValueError(f"the rewind budget must be > 0 MiB, got {budget_mb}")
        with self._lock:
            self.settings.checkpoint_every = checkpoint_every
            self.settings.rewind_budget_mb = budget_mb
            timeline = self._timeline
            if timeline is None:
                return
            timeline.every = checkpoint_every
            weights = sum(p.data.nbytes for _, _, p in self.index.params)
            auto = max(4 * weights, 16 * MIB)
            timeline.budget = auto if budget_mb is None else int(budget_mb * MIB)

    # ------------------------------------------------------------------ the moves themselves
    def _in_batch(self) -> bool:
        return self.state in (State.FORWARD, State.LOSS, State.BACKWARD) or self._passes.revealing

    def _counters(self, monitor: bool = True) -> Counters:
        """The stepper's state; ``monitor=False`` leaves the monitor's out (None): a batch
        changes it only after its update, so undoing a batch before that needs none."""
        judged = self._monitor.state_dict() if monitor else None
        return Counters(self.step, self.epoch, self.batch, self.state, judged)

    def _restore(self, saved: Counters) -> None:
        """Take back the stepper's own state once the timeline restored the model's."""
        self.step, self.epoch, self.batch, self.state = saved[:4]
        if saved.monitor is not None:  # None: the monitor has not changed since (see above)
            self._monitor.load_state_dict(saved.monitor, saved.step)
        self.history.truncate_after(saved.step)
        while self._recent_records and self._recent_records[-1].step > saved.step:
            self._recent_records.pop()
        self.last_step = self._recent_records[-1] if self._recent_records else None
        self._passes.last_event = None
        self.batch_loss = None
        self._gen = self._training()

    def _travel(self, target: int) -> None:
        """Restore the checkpoint before ``target`` and replay up to it (one step at least, so
        that the record of ``target`` is there to show, unless the target is step 0)."""
        timeline = self._timeline
        assert timeline is not None
        self._passes.cancel()
        _, saved = timeline.restore(max(target - 1, 0))
        self._restore(saved)
        optimizer = self.experiment.optimizer
        user_lr, granularity, running = optimizer.lr, self._granularity, self._running
        # a replay is a run: per-layer statistics only where the rules need them, and at the end
        self._granularity, self._travelling, self._running = Granularity.BATCH, True, True
        try:
            while self.step < target:
                optimizer.lr = timeline.lrs[self.step]  # what this step used the first time
                while self._next() < Granularity.BATCH:
                    pass
        finally:
            optimizer.lr, self._granularity, self._travelling = user_lr, granularity, False
            self._running = running
            timeline.forget_after(self.step)  # what lies ahead is no longer this run's past
        self._complete_last()

    def _abandon_batch(self) -> None:
        """Put everything back as it was before the batch in progress (after a failure).

        A batch that had not reached its update is undone from the light snapshot; a later
        one by a checkpoint and a replay. Without rewind (``Settings(rewind=False)``) only
        the batch is abandoned: a failure in the optimizer's step may leave some parameters
        updated.
        """
        self._passes.cancel()
        timeline = self._timeline
        if self._phase == "snapshot":  # stopped while saving: nothing of the batch ran yet
            self._gen = self._training()
            return
        if self.state is not State.DEFINED and timeline is not None and timeline.light:
            before_update = self._phase in ("data", "backward check", "forward", "loss", "backward")
            # the light snapshot holds no weights: after the update, replay from a checkpoint
            # (also when the step failed inside a replay: that replay is abandoned); before it,
            # replay only when the snapshot cannot give back the batch's draws from NumPy's or
            # Python's generator (a learner's Dropout), and never inside a replay
            exact = self._travelling or timeline.undo_is_exact()
            if before_update and exact:
                self._restore(timeline.undo_batch())
            else:
                self._travel(timeline.light.step)
            return
        self._gen = self._training()
        self.batch_loss = None
        if self.state is not State.DEFINED:
            self.state = State.UPDATED if self.step else State.REGISTERED
