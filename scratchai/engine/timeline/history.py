"""Per-step scalars of a whole run in bounded memory, as NumPy arrays.

The newest ``capacity`` steps are kept at full resolution in a ring. Older steps are averaged
in groups of ``stride`` steps into the archive (each group labelled by its last step, with the
lr in effect then: an average lr was never used); when the archive is full, neighbouring groups
are merged and the stride doubles, so every archived point covers the same number of steps and
memory stays O(capacity) however long the run. A NaN or Inf in a group is kept as the group's
value, so a divergence never disappears from the chart.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np

FIELDS = ("step", "loss", "accuracy", "grad_norm", "lr")
#: Columns a merged group takes from its last row: the step that labels it, and the lr.
_LAST_OF_GROUP = [FIELDS.index("step"), FIELDS.index("lr")]
#: Wide histories (many per-parameter columns) get fewer rows: at most this many numbers.
MAX_NUMBERS = 1 << 22


def _merge(groups: np.ndarray) -> np.ndarray:
    """Column-wise means of groups of equal-weight rows: (g, k, width) -> (g, width); a column
    of a group with a NaN/Inf keeps the group's first such value; step and lr are the last."""
    merged = groups.mean(axis=1)
    merged[:, _LAST_OF_GROUP] = groups[:, -1, _LAST_OF_GROUP]
    bad = ~np.isfinite(groups)
    if bad.any():
        first = np.take_along_axis(groups, bad.argmax(axis=1)[:, None, :], axis=1)[:, 0, :]
        merged = np.where(bad.any(axis=1), first, merged)
    return merged


class History:
    """Per-step scalars: ``step, loss, accuracy, grad_norm, lr`` and any ``extra_fields``
    (e.g. each parameter's grad norm), the newest ``capacity`` steps at full resolution.

    Args:
        capacity: full-resolution rows (even, >= 4); lowered for wide histories so that the
            whole history holds at most ``MAX_NUMBERS`` numbers.
        extra_fields: names of more per-step columns, given to ``append`` as ``extra``.
    """

    def __init__(self, capacity: int = 4096, extra_fields: Sequence[str] = ()) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError(f"history capacity must be an even number >= 4, got {capacity}")
        self.fields = FIELDS + tuple(extra_fields)
        width = len(self.fields)
        capacity = min(capacity, max(4, MAX_NUMBERS // (2 * width) // 2 * 2))
        self.capacity = capacity
        self._recent = np.empty((capacity, width))  # a ring: _start is its oldest row
        self._start = self._count = 0
        self._archive = np.empty((capacity, width))
        self._archived = 0
        self._stride = 1
        self._group: list[np.ndarray] = []  # fewer than ``stride`` rows, oldest first
        self.lr_changes: list[tuple[int, float, float]] = []
        self._lock = threading.Lock()  # the TUI reads while a worker thread appends

    def __len__(self) -> int:
        return self._archived + len(self._group) + self._count

    def append(
        self,
        step: int,
        loss: float,
        accuracy: float | None,
        grad_norm: float,
        lr: float,
        extra: Sequence[float] = (),
    ) -> None:
        """One step's row; ``extra`` has one value per extra field (else ``ValueError``)."""
        with self._lock:
            if self._count == self.capacity:
                self._archive_row(self._recent[self._start])
                self._start = (self._start + 1) % self.capacity
                self._count -= 1
            row = self._recent[(self._start + self._count) % self.capacity]
            row[:] = (step, loss, math.nan if accuracy is None else accuracy, grad_norm, lr, *extra)
            self._count += 1

    def _archive_row(self, row: np.ndarray) -> None:
        """Move the ring's oldest ``row`` (a view: the ring reuses it) towards the archive."""
        if self._stride == 1:  # a group of one is itself: no merge on every step
            self._archive[self._archived] = row
        else:
            self._group.append(row.copy())
            if len(self._group) < self._stride:
                return
            group = np.stack(self._group)[None]  # (1, stride, width): one group
            self._archive[self._archived] = _merge(group)[0]
            self._group = []
        self._archived += 1
        if self._archived == self.capacity:
            pairs = self._archive.reshape(self.capacity // 2, 2, -1)
            self._archive[: self.capacity // 2] = _merge(pairs)
            self._archived = self.capacity // 2
            self._stride *= 2

    def truncate_after(self, step: int) -> None:
        """Forget the steps after ``step`` (going back in time); an archived group that
        reaches past ``step`` goes too."""
        with self._lock:
            while self._count and self._newest_step() > step:
                self._count -= 1
            if self._count == 0:
                self._group = [row for row in self._group if row[0] <= step]
                while self._archived and self._archive[self._archived - 1][0] > step:
                    self._archived -= 1
        self.lr_changes = [c for c in self.lr_changes if c[0] <= step]

    def _newest_step(self) -> float:
        return float(self._recent[(self._start + self._count - 1) % self.capacity, 0])

    def record_lr_change(self, step: int, old: float, new: float) -> None:
        self.lr_changes.append((step, old, new))
        del self.lr_changes[: -self.capacity]

    def table(self) -> np.ndarray:
        """Every row, oldest first: (len(self), len(self.fields)) float64, a copy."""
        with self._lock:
            ring = np.roll(self._recent, -self._start, axis=0)[: self._count]
            parts = [self._archive[: self._archived], *[g[None] for g in self._group], ring]
            return np.concatenate(parts) if len(self) else np.empty((0, len(self.fields)))

    def arrays(self) -> dict[str, np.ndarray]:
        """Each field as a float64 array, oldest first (accuracy is NaN where not measured)."""
        table = self.table()
        return {name: table[:, i].copy() for i, name in enumerate(self.fields)}
