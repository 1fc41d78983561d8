"""Scalar history of every step in bounded memory, and the snapshots that make rewind exact."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

FIELDS = ("step", "loss", "accuracy", "grad_norm", "lr")


class History:
    """Per-step scalars: the newest ``capacity`` steps at full resolution, older ones downsampled.

    When the full-resolution part overflows, its older half is folded into the archive in pairs
    (mean of the pair; a NaN or Inf in either member is kept, so a divergence never disappears
    from the chart). The archive halves its own resolution whenever it reaches ``capacity``, so
    memory stays O(capacity) however long the run.
    """

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 4:
            raise ValueError(f"history capacity must be at least 4, got {capacity}")
        self.capacity = capacity
        self._recent: deque[tuple[float, ...]] = deque()
        self._archive: list[tuple[float, ...]] = []
        self.lr_changes: list[tuple[int, float, float]] = []
        self._lock = threading.Lock()  # the TUI reads while a worker thread appends

    def __len__(self) -> int:
        return len(self._archive) + len(self._recent)

    def append(
        self, step: int, loss: float, accuracy: float | None, grad_norm: float, lr: float
    ) -> None:
        row = (float(step), loss, math.nan if accuracy is None else accuracy, grad_norm, lr)
        with self._lock:
            self._recent.append(row)
            if len(self._recent) > self.capacity:
                moved = [self._recent.popleft() for _ in range(self.capacity // 2)]
                self._archive.extend(_fold_pairs(moved))
                if len(self._archive) > self.capacity:
                    self._archive = _fold_pairs(self._archive)

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
            rows = self._archive + list(self._recent)
        table = np.array(rows, dtype=np.float64).reshape(len(rows), len(FIELDS))
        return {name: table[:, i].copy() for i, name in enumerate(FIELDS)}

    def state(self) -> tuple[int, int]:
        """A cheap marker of the history's length, for tests and bookkeeping."""
        return len(self._archive), len(self._recent)


def _fold_pairs(rows: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    folded = []
    for i in range(0, len(rows) - 1, 2):
        a, b = rows[i], rows[i + 1]
        folded.append(tuple(_merge(x, y) for x, y in zip(a, b, strict=True)))
    if len(rows) % 2:
        folded.append(rows[-1])
    return folded


def _merge(x: float, y: float) -> float:
    for value in (x, y):
        if not math.isfinite(value):
            return value  # keep NaN/Inf visible after downsampling
    return (x + y) / 2.0


@dataclass(frozen=True)
class Snapshot:
    """Everything needed to put training back exactly where it was before a step.

    Attributes:
        arrays: copies of every parameter (deduplicated) and buffer, by id of the live array
            owner, restored by copying into the live arrays so ties and identities survive.
    """

    step: int
    epoch: int
    batch: int
    state: Any
    params: tuple[np.ndarray, ...]
    buffers: tuple[np.ndarray, ...]
    optimizer: dict
    rng: dict
    loader: dict
    rules: dict
    active_conditions: frozenset[str]
    last_loss: float | None
