"""Central finite differences at a few sampled entries: what the backward checks compare with."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-6  # float64: the step of the central differences


def sampled_differences(
    array: np.ndarray,
    f: Callable[[], float],
    f0: float,
    rng: np.random.Generator,
    samples: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences of ``f`` at ``samples`` entries of ``array`` (changed in place,
    then put back): (flat indices, values); entries where ``f`` has a kink (its two one-sided
    slopes disagree, e.g. a ReLU at 0) are left out."""
    flat = array.reshape(-1)  # a view: the arrays checked are contiguous copies
    count = min(samples, flat.size)
    idx = np.sort(rng.choice(flat.size, size=count, replace=False))
    kept, values = [], []
    for i in idx:
        original = flat[i]
        flat[i] = original + EPS
        f_plus = f()
        flat[i] = original - EPS
        f_minus = f()
        flat[i] = original
        right, left = f_plus - f0, f0 - f_minus
        if abs(right - left) > 0.1 * max(abs(right), abs(left)) + 1e-10 * (1 + abs(f0)):
            continue  # a kink within eps: no derivative to compare
        kept.append(i)
        values.append((f_plus - f_minus) / (2 * EPS))
    return np.asarray(kept, dtype=np.intp), np.asarray(values, dtype=np.float64)
