"""Going back and forth in a run: rewind, go to any step, restart, undo a failed batch.

``stepper.travel`` moves its stepper along the stepper's ``Timeline`` (see ``checkpoints.py``):
back by restoring the checkpoint before the target and replaying to it, forward by training.
Replayed steps use the learning rates they used the first time; afterwards the lr is the one
the user set last ("rewind, lower the lr, go on").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from scratchai.engine.observe.records import Advance, Granularity, State
from scratchai.engine.timeline.checkpoints import MIB, Timeline

if TYPE_CHECKING:
    from scratchai.engine.stepper import Stepper


class Counters(NamedTuple):
    """The stepper's own state saved with the model's: its counters and the monitor's."""

    step: int
    epoch: int
    batch: int
    state: State
    monitor: Any


class TimeTravel:
    """A stepper's moves in time, and the checkpoints they restore (``timeline``).

    Args:
        stepper: the stepper it moves (it owns this object: ``stepper.travel``).
    """

    def __init__(self, stepper: Stepper) -> None:
        self._stepper = stepper
        s = stepper.settings
        self.timeline: Timeline | None = None
        if s.rewind:
            budget = None if s.rewind_budget_mb is None else int(s.rewind_budget_mb * MIB)
            self.timeline = Timeline(stepper.index, stepper.experiment, s.checkpoint_every, budget)
        self.travelling = False  # replaying steps to reach an earlier one

    # ------------------------------------------------------------------ public moves
    @property
    def depth(self) -> int:
        """How many steps ``rewind`` can undo now (every one back to step 0)."""
        st = self._stepper
        if self.timeline is None:
            return 0
        return st.step + (1 if self.in_batch() else 0)

    def rewind(self, k: int = 1) -> int:
        """Undo the last ``k`` steps (a batch in progress counts as one); returns how many.

        Parameters, buffers, optimizer state, random generator and data position return
        exactly, so running the same steps again reproduces the same losses bit for bit. The
        learning rate the user set last is kept.
        """
        st = self._stepper
        with st._lock:
            st._begin(Granularity.BATCH)
            k = min(k, self.depth)
            if k > 0 and self.in_batch():
                self.undo_batch()
                left = k - 1
            else:
                left = k
            if left > 0:
                self._replay_to(st.step - left)
            return max(k, 0)

    def goto(self, step: int) -> Advance:
        """Go to the end of step ``step``: back by replay (bit for bit what it was), forward
        by training (a breakpoint may stop it first). A batch in progress is abandoned."""
        st = self._stepper
        if step < 0:
            raise ValueError(f"there is no step {step}: steps count from 0 (before training)")
        with st._lock:
            st._begin(Granularity.BATCH)
            if step < st.step or self.in_batch():
                if self.timeline is None:
                    raise RuntimeError("rewind is off (Settings(rewind=False))")
                if self.in_batch():
                    self.undo_batch()
                if step < st.step:
                    self._replay_to(step)
            if step <= st.step:
                st._begin(Granularity.BATCH)
                return st._finish(Granularity.BATCH)
            return st.run(max_steps=step - st.step)

    def restart(self) -> Advance:
        """Back to step 0: the initial weights, data order and random numbers (same seed)."""
        return self.goto(0)

    def initial_experiment(self) -> Any:
        """The experiment as it was at step 0, as a copy (the pre-flight checks judge the
        init, not a trained model); the experiment itself at step 0 or without rewind."""
        st = self._stepper
        with st._lock:
            timeline = self.timeline
            if st.step == 0 or timeline is None or 0 not in timeline.checkpoints:
                return st.experiment
            return timeline.copy_at(0)

    def configure(self, checkpoint_every: int, budget_mb: float | None) -> None:
        """Change the steps between checkpoints and their memory budget (None: 4 weight
        copies, at least 16 MiB). Checkpoints already saved stay; the new values apply to the
        next ones (a smaller budget thins the old ones when the next one is saved)."""
        st = self._stepper
        if checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
        if budget_mb is not None and not budget_mb > 0:
            raise ValueError(f"the rewind budget must be > 0 MiB, got {budget_mb}")
        with st._lock:
            st.settings.checkpoint_every = checkpoint_every
            st.settings.rewind_budget_mb = budget_mb
            timeline = self.timeline
            if timeline is None:
                return
            timeline.every = checkpoint_every
            weights = sum(p.data.nbytes for _, _, p in st.index.params)
            auto = max(4 * weights, 16 * MIB)
            timeline.budget = auto if budget_mb is None else int(budget_mb * MIB)

    # ------------------------------------------------------------------ the moves themselves
    def in_batch(self) -> bool:
        st = self._stepper
        return st.state in (State.FORWARD, State.LOSS, State.BACKWARD) or st._passes.revealing

    def counters(self, monitor: bool = True) -> Counters:
        """The stepper's state; ``monitor=False`` leaves the monitor's out (None): a batch
        changes it only after its update, so undoing a batch before that needs none."""
        st = self._stepper
        judged = st._monitor.state_dict() if monitor else None
        return Counters(st.step, st.epoch, st.batch, st.state, judged)

    def _restore(self, saved: Counters) -> None:
        """Take back the stepper's own state once the timeline restored the model's."""
        st = self._stepper
        st.step, st.epoch, st.batch, st.state = saved[:4]
        if saved.monitor is not None:  # None: the monitor has not changed since (see above)
            st._monitor.load_state_dict(saved.monitor, saved.step)
        st.history.truncate_after(saved.step)
        while st._recent_records and st._recent_records[-1].step > saved.step:
            st._recent_records.pop()
        st.last_step = st._recent_records[-1] if st._recent_records else None
        st._passes.last_event = None
        st.batch_loss = None
        st._gen = st._training()

    def _replay_to(self, target: int) -> None:
        """Restore the checkpoint before ``target`` and replay up to it (one step at least, so
        that the record of ``target`` is there to show, unless the target is step 0)."""
        st = self._stepper
        timeline = self.timeline
        assert timeline is not None
        st._passes.cancel()
        _, saved = timeline.restore(max(target - 1, 0))
        self._restore(saved)
        optimizer = st.experiment.optimizer
        user_lr, granularity, running = optimizer.lr, st._granularity, st._running
        # a replay is a run: per-layer statistics only where the rules need them, and at the end
        st._granularity, self.travelling, st._running = Granularity.BATCH, True, True
        try:
            while st.step < target:
                optimizer.lr = timeline.lrs[st.step]  # what this step used the first time
                while st._next() < Granularity.BATCH:
                    pass
        finally:
            optimizer.lr, st._granularity, self.travelling = user_lr, granularity, False
            st._running = running
            timeline.forget_after(st.step)  # what lies ahead is no longer this run's past
        st._complete_last()

    def undo_batch(self) -> None:
        """Put everything back as it was before the batch in progress (after a failure).

        A batch that had not reached its update is undone from the light snapshot; a later
        one by a checkpoint and a replay. Without rewind (``Settings(rewind=False)``) only
        the batch is abandoned: a failure in the optimizer's step may leave some parameters
        updated.
        """
        st = self._stepper
        st._passes.cancel()
        timeline = self.timeline
        if st._phase == "snapshot":  # stopped while saving: nothing of the batch ran yet
            st._gen = st._training()
            return
        if st.state is not State.DEFINED and timeline is not None and timeline.light:
            before_update = st._phase in ("data", "backward check", "forward", "loss", "backward")
            # the light snapshot holds no weights: after the update, replay from a checkpoint
            # (also when the step failed inside a replay: that replay is abandoned); before it,
            # replay only when the snapshot cannot give back the batch's draws from NumPy's or
            # Python's generator (a learner's Dropout), and never inside a replay
            exact = self.travelling or timeline.undo_is_exact()
            if before_update and exact:
                self._restore(timeline.undo_batch())
            else:
                self._replay_to(timeline.light.step)
            return
        st._gen = st._training()
        st.batch_loss = None
        if st.state is not State.DEFINED:
            st.state = State.UPDATED if st.step else State.REGISTERED
