"""ArrayDataset: features and targets checked once, up front, so a bad value fails here with a
clear message instead of turning into a NaN loss fifty steps later.

Targets are class labels (for CrossEntropyLoss) or real values (for MSELoss: regression, an
autoencoder's ``ArrayDataset(X, X)``); ``targets="auto"`` tells them apart by their dtype.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

__all__ = ["ArrayDataset", "check_features", "count_non_finite"]

Targets = Literal["auto", "labels", "values"]


def check_features(X: ArrayLike, what: str) -> np.ndarray:
    """``X`` as a 2-D real array, or a ValueError/TypeError saying what is wrong."""
    arr = np.asarray(X)
    if arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{what} must hold real numbers (float or int), got dtype {arr.dtype}"
            + (": complex values are not supported" if arr.dtype.kind == "c" else "")
        )
    if arr.ndim != 2:
        hint = " (use X.reshape(-1, 1) for a single feature)" if arr.ndim == 1 else ""
        raise ValueError(
            f"{what} must be 2-D (n_samples, num_features), got shape {arr.shape}{hint}"
        )
    return arr


def count_non_finite(X: np.ndarray, what: str) -> None:
    """Raise if ``X: (n, features)`` holds NaN or Inf, naming how many and the first row."""
    if X.dtype.kind != "f":
        return
    bad = ~np.isfinite(X)
    count = int(np.count_nonzero(bad))
    if count:
        row, col = (int(i[0]) for i in np.nonzero(bad))
        raise ValueError(
            f"{what} has {count} non-finite value{'s' if count != 1 else ''} (NaN or Inf); "
            f"the first is in row {row}, column {col} (value {X[row, col]!r}). Remove or impute "
            f"them before training: one NaN input makes every loss and gradient NaN"
        )


def _check_labels(y: ArrayLike, num_classes: int | None) -> np.ndarray:
    """``y`` as a 1-D int64 array of class indices in ``[0, num_classes)``."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        hint = ""
        if arr.ndim == 2:
            hint = (
                " (a column vector? pass y.ravel())"
                if arr.shape[1] == 1
                else " (one-hot labels? pass y.argmax(axis=1))"
            )
        raise ValueError(f"y must be 1-D (n_samples,) class indices, got shape {arr.shape}{hint}")
    if arr.dtype.kind == "b":
        raise TypeError("y must hold integer class indices, got booleans (use y.astype(int))")
    if arr.dtype.kind == "f":
        non_finite = ~np.isfinite(arr)
        if non_finite.any():
            i = int(np.flatnonzero(non_finite)[0])
            raise ValueError(
                f"y must hold integer class indices; it has {int(non_finite.sum())} non-finite "
                f"value(s), the first at index {i} ({arr[i]!r})"
            )
        fractional = arr != np.round(arr)
        if fractional.any():
            i = int(np.flatnonzero(fractional)[0])
            raise ValueError(
                f"y must hold integer class indices; it has {int(fractional.sum())} non-integral "
                f"value(s), the first at index {i} ({arr[i]!r})"
            )
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64, copy=False)
    else:
        raise TypeError(f"y must hold integer class indices, got dtype {arr.dtype}")
    if arr.size:
        negative = arr < 0
        if negative.any():
            i = int(np.flatnonzero(negative)[0])
            raise ValueError(
                f"labels must be class indices >= 0; found label {int(arr[i])} at index {i}"
            )
        if num_classes is not None:
            too_big = arr >= num_classes
            if too_big.any():
                i = int(np.flatnonzero(too_big)[0])
                raise ValueError(
                    f"labels must be in [0, {num_classes}) for num_classes={num_classes}; "
                    f"found label {int(arr[i])} at index {i}"
                )
    return arr


def _check_values(y: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """``y`` as real-valued targets (n,) or (n, k) of ``dtype``, all finite."""
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be (n_samples,) or (n_samples, k) targets, got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise TypeError(f"y must hold real-valued targets, got dtype {y.dtype}")
    with np.errstate(over="ignore"):
        values = y.astype(dtype, copy=False)
    count_non_finite(values.reshape(len(values), -1), "y")
    return values


def _looks_like_labels(y: np.ndarray) -> bool:
    """Integers, or a 1-D float array of whole numbers: class labels; anything else: values."""
    if y.dtype.kind in "biu" or y.dtype.kind not in "f":
        return True
    if y.ndim != 1:
        return False
    finite = np.isfinite(y)
    return not finite.all() or bool((y == np.round(y)).all())


class ArrayDataset:
    """A dataset over two arrays, checked once when it is built.

    Args:
        X: features, (n_samples, num_features), real numbers (ints are converted); all finite.
        y: class labels (n_samples,) of integer class indices (a float array whose values are
            all integral is converted), or real-valued targets (n_samples,) or (n_samples, k)
            for a regression (``ArrayDataset(X, X)`` for an autoencoder).
        num_classes: labels only: the number of classes; labels must lie in
            ``[0, num_classes)``. If None it is inferred as ``max(y) + 1``.
        dtype: floating dtype X (and real-valued y) is stored as (float32, like the layers).
        targets: "labels", "values", or "auto": labels when y holds integers or whole numbers
            in one column, values otherwise. Whether the loss can use them is checked when the
            ``Experiment`` is made (CrossEntropyLoss needs labels).

    Attributes:
        X: (n_samples, num_features) array of ``dtype``.
        y: (n_samples,) int64 labels, or (n_samples,) / (n_samples, k) values of ``dtype``.
        targets: "labels" or "values".

    Raises:
        ValueError / TypeError: with a message naming the offending shape, value and index.
    """

    def __init__(
        self,
        X: ArrayLike,
        y: ArrayLike,
        num_classes: int | None = None,
        dtype: DTypeLike = np.float32,
        targets: Targets = "auto",
    ) -> None:
        if targets not in ("auto", "labels", "values"):
            raise ValueError(f"targets must be 'auto', 'labels' or 'values', got {targets!r}")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise TypeError(f"dtype must be a floating dtype, got {np.dtype(dtype)}")
        if num_classes is not None and (
            isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer))
        ):
            raise TypeError(f"num_classes must be an int, got {num_classes!r}")
        if num_classes is not None and num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        features = check_features(X, "X")
        labels = np.asarray(y)
        if labels.ndim >= 1 and len(labels) != len(features):
            raise ValueError(
                f"X and y must have the same number of samples: X has {len(features)} rows, "
                f"y has {len(labels)} labels"
            )
        if targets == "auto":
            targets = "labels" if _looks_like_labels(labels) else "values"
        if targets == "labels":
            labels = _check_labels(labels, num_classes)
        elif num_classes is not None:
            raise ValueError("num_classes applies to class labels, not to real-valued targets")
        else:
            labels = _check_values(labels, dtype)
        with np.errstate(over="ignore"):  # overflow to Inf is reported just below
            features = features.astype(dtype, copy=False)
        count_non_finite(features, "X")
        self.X: np.ndarray = features
        self.y: np.ndarray = labels
        self.targets: Literal["labels", "values"] = targets
        if num_classes is None:
            num_classes = int(labels.max()) + 1 if targets == "labels" and labels.size else 0
        self._num_classes = int(num_classes)

    @property
    def num_features(self) -> int:
        """Number of columns of X."""
        return int(self.X.shape[1])

    @property
    def num_classes(self) -> int:
        """Number of classes (given, or ``max(y) + 1``; 0 for real-valued targets)."""
        return self._num_classes

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __getitem__(self, index: Any) -> tuple[np.ndarray, np.ndarray]:
        """``index``: an int, a slice or an array of indices -> ``(X[index], y[index])``.

        With an index array of shape (batch,) the result is ``(batch, num_features)``, (batch,).
        """
        return self.X[index], self.y[index]

    def __repr__(self) -> str:
        kind = f"num_classes={self.num_classes}" if self.targets == "labels" else "targets='values'"
        return (
            f"ArrayDataset(n_samples={len(self)}, num_features={self.num_features}, {kind}, "
            f"dtype={self.X.dtype})"
        )
