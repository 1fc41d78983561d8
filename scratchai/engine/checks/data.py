"""What the training data looks like to a network: feature scale and offset, NaN/Inf, labels.

Computed once per run (on at most ``MAX_ROWS`` rows), so that rules can name the data as the
cause when it is at fault: inputs ×1000 blow up every layer, whatever the init.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_ROWS = 10_000  # enough rows to estimate each feature's mean and scale


@dataclass(frozen=True)
class InputSummary:
    """Per-feature statistics of the training inputs, summarised over features.

    Attributes:
        features: number of features (columns of X, flattened after the first axis).
        typical_std / max_std: median and largest per-feature standard deviation.
        typical_mean / max_mean: median and largest per-feature |mean|.
        nonfinite: NaN/Inf count in the rows looked at.
        label_counts: samples per class (empty when the labels are not class indices).
    """

    features: int
    typical_std: float
    max_std: float
    typical_mean: float
    max_mean: float
    nonfinite: int
    label_counts: tuple[int, ...] = ()

    def scale_problem(
        self, max_scale: float = 10.0, min_scale: float = 0.05, max_mean: float = 5.0
    ) -> str:
        """Why the inputs are not standardised (means far from 0, scales far from 1), or ''.

        The defaults are loose on purpose: a network copes with features a few units wide,
        and raw pixel values 0..1 are fine; features in the hundreds or thousands are not.
        """
        found = []
        if self.typical_std > max_scale:
            found.append(
                f"a typical feature's standard deviation is {self.typical_std:.3g} "
                f"(largest {self.max_std:.3g}), above {max_scale:g}"
            )
        elif 0.0 < self.typical_std < min_scale:
            found.append(
                f"a typical feature's standard deviation is {self.typical_std:.3g}, "
                f"below {min_scale:g}"
            )
        if self.typical_mean > max_mean:
            found.append(
                f"a typical feature's mean is {self.typical_mean:.3g} away from 0 "
                f"(largest {self.max_mean:.3g}), above {max_mean:g}"
            )
        return "; ".join(found)


def dataset_arrays(data: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(X, y) of a dataset or a loader over one (its first ``MAX_ROWS`` rows), or None."""
    data = getattr(data, "dataset", data)
    try:
        n = min(len(data), MAX_ROWS)
        X, y = data[np.arange(n)]
    except Exception:  # a dataset we cannot index: nothing to say about it
        return None
    return np.asarray(X), np.asarray(y)


def summarize_inputs(data: Any) -> InputSummary | None:
    """The ``InputSummary`` of a dataset or loader (None when it cannot be read)."""
    arrays = dataset_arrays(data)
    if arrays is None:
        return None
    X, y = arrays
    if X.ndim < 2 or not np.issubdtype(X.dtype, np.number) or X.shape[0] == 0:
        return None
    flat = X.reshape(X.shape[0], -1).astype(np.float64)
    finite = np.isfinite(flat)
    bad = int(flat.size - np.count_nonzero(finite))
    if bad:
        flat = np.where(finite, flat, np.nan)
    # By hand, not np.nanmean/nanstd: an all-NaN feature made those warn (RuntimeWarning,
    # through warnings.warn, which errstate does not silence) into the user's terminal.
    count = np.maximum(finite.sum(axis=0), 1)
    values = np.where(finite, flat, 0.0)
    with np.errstate(all="ignore"):
        centre = values.sum(axis=0) / count
        spread = np.sqrt((np.where(finite, flat - centre, 0.0) ** 2).sum(axis=0) / count)
    means, stds = np.nan_to_num(np.abs(centre)), np.nan_to_num(spread)
    counts: tuple[int, ...] = ()
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and y.size and y.min() >= 0:
        counts = tuple(int(c) for c in np.bincount(y))
    return InputSummary(
        features=flat.shape[1],
        typical_std=float(np.median(stds)),
        max_std=float(np.max(stds)),
        typical_mean=float(np.median(means)),
        max_mean=float(np.max(means)),
        nonfinite=bad,
        label_counts=counts,
    )
