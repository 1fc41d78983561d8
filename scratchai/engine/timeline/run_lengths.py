"""A list of per-step values that rarely change, held as runs: memory grows with the changes,
not with the steps.

The learning rate each step used is kept for the whole run (a rewind replays each step with the
lr of its time); as a plain list it cost 8 bytes a step, 8 MiB per million steps, which showed
as a slow creep in a long run's resident memory. The lr changes only when the user changes it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator


class RunLengths:
    """The list operations the timeline uses (``append``, ``len``, item get and set, ``del
    values[i:]``) over (first index, value) runs.

    Costs: ``append`` and the last item O(1); any other get or set O(log runs).
    """

    def __init__(self) -> None:
        self._starts: list[int] = []  # index where each run begins, increasing
        self._values: list[float] = []
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[float]:
        for i in range(self._length):
            yield self[i]

    @property
    def runs(self) -> int:
        """How many runs are held (what the memory grows with)."""
        return len(self._starts)

    def _index(self, i: int) -> int:
        if i < 0:
            i += self._length
        if not 0 <= i < self._length:
            raise IndexError(f"index {i} out of range for {self._length} values")
        return i

    def __getitem__(self, i: int) -> float:
        i = self._index(i)
        return self._values[bisect.bisect_right(self._starts, i) - 1]

    def append(self, value: float) -> None:
        if not self._values or self._values[-1] != value:
            self._starts.append(self._length)
            self._values.append(value)
        self._length += 1

    def __setitem__(self, i: int, value: float) -> None:
        i = self._index(i)
        r = bisect.bisect_right(self._starts, i) - 1
        old = self._values[r]
        if old == value:
            return
        end = self._starts[r + 1] if r + 1 < len(self._starts) else self._length
        # split run r into [start, i) old, [i, i + 1) value, [i + 1, end) old; drop empty parts
        pieces = [(self._starts[r], old), (i, value), (i + 1, old)]
        bounds = [self._starts[r], i, i + 1, end]
        runs = [piece for piece, stop in zip(pieces, bounds[1:], strict=True) if piece[0] < stop]
        self._starts[r : r + 1] = [start for start, _ in runs]
        self._values[r : r + 1] = [v for _, v in runs]
        self._merge()

    def _merge(self) -> None:
        """Join neighbouring runs of one value (after a set made them equal)."""
        starts, values = [self._starts[0]], [self._values[0]]
        for start, value in zip(self._starts[1:], self._values[1:], strict=True):
            if value != values[-1]:
                starts.append(start)
                values.append(value)
        self._starts, self._values = starts, values

    def _truncate(self, n: int) -> None:
        """Keep the first ``n`` values."""
        keep = bisect.bisect_left(self._starts, n)
        del self._starts[keep:], self._values[keep:]
        self._length = n

    def __delitem__(self, index: slice) -> None:
        """Only ``del values[i:]`` (a new timeline drops the steps after ``i``)."""
        if not isinstance(index, slice) or index.stop is not None or index.step is not None:
            raise TypeError("RunLengths supports only del values[i:]")
        start = 0 if index.start is None else index.start
        if start < 0:
            start = max(self._length + start, 0)
        self._truncate(min(start, self._length))
