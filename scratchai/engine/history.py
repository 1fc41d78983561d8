"""Scalar history of every step in bounded memory."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Sequence

import numpy as np

FIELDS = ("step", "loss", "accuracy", "grad_norm", "lr")


class History:
    """Per-step scalars: the newest ``capacity`` steps at full resolution, older ones downsampled.

    Steps that leave the full-resolution window are averaged in groups of ``stride`` steps into
    the archive; when the archive holds ``capacity`` groups, neighbouring groups are merged and
    the stride doubles, so every archived point covers the same number of steps and memory stays
    O(capacity) however long the run. A NaN or Inf in a group is kept as the group's value, so a
    divergence never disappears from the chart.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError(f"history capacity must be an even number >= 4, got {capacity}")
        self.capacity = capacity
        self._recent: deque[tuple[float, ...]] = deque()
        self._archive: list[tuple[float, ...]] = []
        self._stride = 1
        self._group: list[tuple[float, ...]] = []  # fewer than ``stride`` rows, oldest first
        self.lr_changes: list[tuple[int, float, float]] = []
        self._lock = threading.Lock()  # the TUI reads while a worker thread appends

    def __len__(self) -> int:
        return len(self._archive) + len(self._group) + len(self._recent)

    def append(
        self, step: int, loss: float, accuracy: float | None, grad_norm: float, lr: float
    ) -> None:
        row = (float(step), loss, math.nan if accuracy is None else accuracy, grad_norm, lr)
        with self._lock:
            self._recent.append(row)
            if len(self._recent) > self.capacity:
                self._archive_row(self._recent.popleft())

    def _archive_row(self, row: tuple[float, ...]) -> None:
        self._group.append(row)
        if len(self._group) < self._stride:
            return
        self._archive.append(_merge_rows(self._group))
        self._group = []
        if len(self._archive) >= self.capacity:
            pairs = zip(self._archive[0::2], self._archive[1::2], strict=True)
            self._archive = [_merge_rows(pair) for pair in pairs]
            self._stride *= 2

    def truncate_after(self, step: int) -> None:
        """Forget the steps after ``step`` (rewind). Only full-resolution steps can be undone."""
        with self._lock:
            while self._recent and self._recent[-1][0] > step:
                self._recent.pop()
        self.lr_changes = [c for c in self.lr_changes if c[0] <= step]

    def record_lr_change(self, step: int, old: float, new: float) -> None:
        self.lr_changes.append((step, old, new))
        del self.lr_changes[: -self.capacity]

    def arrays(self) -> dict[str, np.ndarray]:
        """Each field as a float64 array, oldest first (accuracy is NaN where not measured)."""
        with self._lock:
            rows = self._archive + self._group + list(self._recent)
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(FIELDS))
        return {name: table[:, i].copy() for i, name in enumerate(FIELDS)}


def _merge_rows(rows: Sequence[tuple[float, ...]]) -> tuple[float, ...]:
    """Field-wise mean of equal-weight rows; a NaN/Inf in a field is kept as that field's value."""
    merged = []
    for values in zip(*rows, strict=True):
        bad = next((v for v in values if not math.isfinite(v)), None)
        merged.append(bad if bad is not None else sum(values) / len(values))
    return tuple(merged)
