"""The data summary of inputs whose features are all NaN: no numpy RuntimeWarning reaches the
user's terminal (it did, from np.nanmean/np.nanstd), and the statistics of finite features are
np.nanmean's and np.nanstd's."""

from __future__ import annotations

import warnings

import numpy as np

from scratchai.engine.checks.data import summarize_inputs


class Raw:
    """A dataset that does not refuse NaN (``ArrayDataset`` does)."""

    def __init__(self, X: np.ndarray, y: np.ndarray) -> None:
        self.X, self.y = X, y

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        return self.X[i], self.y[i]


def test_all_nan_features_warn_nothing() -> None:
    X = np.full((64, 4), np.nan, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        summary = summarize_inputs(Raw(X, np.arange(64) % 3))
    assert summary is not None and summary.nonfinite == 256
    assert summary.typical_std == 0.0 and summary.typical_mean == 0.0


def test_finite_features_keep_nanmean_and_nanstd() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, size=(200, 5))
    X[::7, 1] = np.nan
    X[::5, 3] = np.inf
    summary = summarize_inputs(Raw(X, np.arange(200) % 2))
    clean = np.where(np.isfinite(X), X, np.nan)
    means, stds = np.abs(np.nanmean(clean, axis=0)), np.nanstd(clean, axis=0)
    assert summary is not None
    np.testing.assert_allclose(summary.typical_mean, np.median(means), rtol=1e-12)
    np.testing.assert_allclose(summary.max_std, np.max(stds), rtol=1e-12)
