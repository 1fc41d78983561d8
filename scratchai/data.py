"""The data layer: a validated dataset over arrays, a standardizer, a resumable loader, a split.

The lesson's "NDArray input -> preprocess: normalize, batch". Everything here is NumPy only.

- :class:`ArrayDataset` checks its arrays once, up front, so a bad value fails here with a clear
  message instead of turning into a NaN loss fifty steps later.
- :class:`Standardizer` is fitted on training data only and then applied to every split.
- :class:`DataLoader` yields shuffled mini-batches; its position (epoch, batch, permutation,
  own generator) is explicit, so ``state_dict()``/``load_state_dict()`` can rewind it exactly.
- :func:`train_val_split` splits a dataset, optionally keeping class proportions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from .dataset import ArrayDataset, check_features, count_non_finite
from .random import get_rng

__all__ = ["ArrayDataset", "DataLoader", "Standardizer", "train_val_split"]


class _IndexableDataset(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, index: Any) -> tuple[np.ndarray, np.ndarray]: ...


class Standardizer:
    """Per-feature ``(x - mean) / std``, with the statistics fitted on training data only.

    Columns whose std is below ``eps`` (constant columns) are divided by 1 instead, so they
    become all zeros rather than NaN. The output keeps the input's floating dtype (float32
    stays float32); integer input gives float32.

    Args:
        eps: std threshold below which a column counts as constant.

    Attributes:
        mean_: (num_features,) float64, set by :meth:`fit`.
        std_: (num_features,) float64, 1.0 for constant columns, set by :meth:`fit`.
    """

    def __init__(self, eps: float = 1e-8) -> None:
        self.eps = float(eps)
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    @property
    def num_features(self) -> int | None:
        """Number of features seen by :meth:`fit` (None before fitting)."""
        return None if self.mean_ is None else int(self.mean_.shape[0])

    def fit(self, X: ArrayLike) -> Standardizer:
        """Compute per-column mean and std of the training features ``X: (n, features)``."""
        arr = check_features(X, "Standardizer.fit: X")
        if arr.shape[0] == 0:
            raise ValueError("Standardizer.fit: X has no rows; fit on the training data")
        count_non_finite(arr, "Standardizer.fit: X")
        arr64 = arr.astype(np.float64, copy=False)
        mean = arr64.mean(axis=0)
        std = arr64.std(axis=0)
        std[std < self.eps] = 1.0
        self.mean_, self.std_ = mean, std
        return self

    def transform(self, X: ArrayLike) -> np.ndarray:
        """``X: (n, features)`` -> standardized (n, features), same floating dtype (or float32)."""
        out, mean, std = self._fitted_copy(X, "transform")
        out -= mean
        out /= std
        return out

    def fit_transform(self, X: ArrayLike) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: ArrayLike) -> np.ndarray:
        """Undo :meth:`transform`: ``X * std + mean``, same dtype rules."""
        out, mean, std = self._fitted_copy(X, "inverse_transform")
        out *= std
        out += mean
        return out

    def _fitted_copy(self, X: ArrayLike, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A floating copy of ``X: (n, features)`` and the statistics cast to its dtype."""
        if self.mean_ is None or self.std_ is None:
            raise RuntimeError(
                f"Standardizer.{method} called before fit: call fit(X_train) first (fit on the "
                "training split only, then transform every split)"
            )
        arr = check_features(X, f"Standardizer.{method}: X")
        if arr.shape[1] != self.mean_.shape[0]:
            raise ValueError(
                f"Standardizer was fitted on {self.mean_.shape[0]} features but X has "
                f"{arr.shape[1]} (shape {arr.shape})"
            )
        dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float32)
        # Cast the statistics, not the data: a float64 mean would upcast float32 X (NEP 50).
        return arr.astype(dtype, copy=True), self.mean_.astype(dtype), self.std_.astype(dtype)

    def __repr__(self) -> str:
        fitted = f"num_features={self.num_features}" if self.mean_ is not None else "not fitted"
        return f"Standardizer({fitted})"


class DataLoader:
    """Mini-batches over a dataset, with seeded shuffling and an explicit, restorable position.

    Two ways to read it:

    - ``for xb, yb in loader``: one epoch, a fresh permutation each time ``iter`` is called.
      This does not move the position used by :meth:`next_batch`.
    - :meth:`next_batch`: the training engine's stateful stream, advancing through epochs
      forever (a new permutation at each epoch start). Its position is
      ``state_dict() -> {"epoch", "batch", "perm", "rng"}`` and ``load_state_dict`` restores it,
      so a rewind replays exactly the same batches.

    Shuffling draws from the library generator ``scratchai.get_rng()`` (so ``manual_seed``
    makes it reproducible) unless ``seed`` is given, in which case the loader owns its own
    generator (whose state is part of ``state_dict``).

    Args:
        dataset: an :class:`ArrayDataset` (or any object with ``__len__`` and
            ``__getitem__(index_array) -> (xb, yb)``).
        batch_size: samples per batch, >= 1.
        shuffle: draw a new random order each epoch (otherwise 0..n-1).
        drop_last: drop the final incomplete batch of each epoch.
        seed: seed of the loader's own generator; None uses the library generator.

    Batches: ``xb: (batch, num_features)``, ``yb: (batch,)``; the last one is smaller unless
    ``drop_last``.
    """

    def __init__(
        self,
        dataset: ArrayDataset | _IndexableDataset,
        batch_size: int = 32,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise TypeError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(dataset)
        if n == 0:
            raise ValueError("DataLoader: the dataset is empty, so there is no batch to load")
        if drop_last and n < batch_size:
            raise ValueError(
                f"DataLoader: drop_last=True with batch_size={batch_size} and only {n} samples "
                f"gives zero batches per epoch; lower batch_size or set drop_last=False"
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = seed
        self._n = n
        self._num_batches = n // self.batch_size if drop_last else -(-n // self.batch_size)
        self._own_rng: np.random.Generator | None = (
            None if seed is None else np.random.default_rng(seed)
        )
        # Position of the next_batch() stream: the batch about to be served is
        # self._perm[self._batch * batch_size : ...] of epoch self._epoch. _perm is None
        # before the first batch; a new epoch (and permutation) starts lazily when the
        # current one is used up, so the draw happens at the same point on replay.
        self._epoch = 0
        self._batch = 0
        self._perm: np.ndarray | None = None

    @property
    def rng(self) -> np.random.Generator:
        """The generator used for shuffling (own, or the library's)."""
        return self._own_rng if self._own_rng is not None else get_rng()

    def __len__(self) -> int:
        """Batches per epoch."""
        return self._num_batches

    def _permutation(self) -> np.ndarray:
        if self.shuffle:
            return self.rng.permutation(self._n)
        return np.arange(self._n)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """One epoch of ``(xb: (batch, features), yb: (batch,))`` in a fresh order."""
        perm = self._permutation()
        bs = self.batch_size
        for b in range(self._num_batches):
            yield self.dataset[perm[b * bs : (b + 1) * bs]]

    def next_batch(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        """The next batch of the endless stream: ``(xb, yb, epoch, batch_index)``.

        ``epoch`` counts from 0; ``batch_index`` is the position within the epoch, from 0 to
        ``len(self) - 1``. A new permutation is drawn when an epoch starts.
        """
        if self._perm is None:
            self._perm = self._permutation()
        elif self._batch >= self._num_batches:
            self._epoch += 1
            self._batch = 0
            self._perm = self._permutation()
        b = self._batch
        start = b * self.batch_size
        xb, yb = self.dataset[self._perm[start : start + self.batch_size]]
        self._batch = b + 1
        return xb, yb, self._epoch, b

    @property
    def epoch(self) -> int:
        """Epoch of the most recent (or, before any, the first) batch of :meth:`next_batch`."""
        return self._epoch

    def state_dict(self) -> dict[str, Any]:
        """A copy of the stream position.

        Returns:
            ``{"epoch": int, "batch": int (batches already served this epoch),
            "perm": (n,) int array of this epoch's order or None before the first batch,
            "rng": the own generator's bit_generator state or None}``.
        """
        return {
            "epoch": self._epoch,
            "batch": self._batch,
            "perm": None if self._perm is None else self._perm.copy(),
            "rng": None if self._own_rng is None else self._own_rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a position from :meth:`state_dict` (validated; nothing changes on error).

        The library generator is not part of this state: restore it with
        ``scratchai.random.set_rng_state`` when the loader shuffles with it.
        """
        expected = {"epoch", "batch", "perm", "rng"}
        if set(state) != expected:
            missing, extra = expected - set(state), set(state) - expected
            raise KeyError(
                f"DataLoader.load_state_dict: missing keys {sorted(missing)}, "
                f"unexpected keys {sorted(extra)}"
            )
        epoch, batch, perm, rng_state = (state[k] for k in ("epoch", "batch", "perm", "rng"))
        if int(epoch) < 0 or not 0 <= int(batch) <= self._num_batches:
            raise ValueError(
                f"DataLoader.load_state_dict: epoch {epoch}, batch {batch} out of range "
                f"(batch must be in [0, {self._num_batches}])"
            )
        if perm is not None:
            perm = np.array(perm, copy=True)
            if perm.shape != (self._n,) or perm.dtype.kind not in "iu":
                raise ValueError(
                    f"DataLoader.load_state_dict: perm must be an int array of shape "
                    f"({self._n},), got {perm.dtype} {perm.shape}"
                )
        if (rng_state is None) != (self._own_rng is None):
            raise ValueError(
                "DataLoader.load_state_dict: the state's 'rng' "
                + ("is missing but this loader has its own seed" if rng_state is None else "")
                + ("is set but this loader uses the library generator" if rng_state else "")
            )
        if self._own_rng is not None:
            self._own_rng.bit_generator.state = rng_state
        self._epoch, self._batch, self._perm = int(epoch), int(batch), perm

    def __repr__(self) -> str:
        return (
            f"DataLoader(n_samples={self._n}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
            f"batches_per_epoch={len(self)})"
        )


def train_val_split(
    dataset: ArrayDataset,
    val_fraction: float = 0.2,
    seed: int | None = 0,
    stratify: bool = False,
) -> tuple[ArrayDataset, ArrayDataset]:
    """Split a dataset into disjoint training and validation datasets.

    Args:
        dataset: the :class:`ArrayDataset` to split (X: (n, features), y: (n,)).
        val_fraction: share of samples for validation, in (0, 1); ``round(n * val_fraction)``
            samples go to validation.
        seed: seed of a private generator (None: the library generator ``get_rng()``).
        stratify: keep each class's proportion in both parts (per-class counts are rounded
            so the total still equals ``round(n * val_fraction)``).

    Returns:
        ``(train, val)``: ArrayDatasets with the same dtype and ``num_classes``; the samples
        keep their original relative order.
    """
    if not 0.0 < float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    n = len(dataset)
    n_val = round(n * float(val_fraction))
    if n_val < 1 or n_val > n - 1:
        raise ValueError(
            f"train_val_split: val_fraction={val_fraction} of {n} samples gives {n_val} "
            f"validation and {n - n_val} training samples; both parts need at least one"
        )
    if stratify and dataset.targets != "labels":
        raise ValueError("train_val_split: stratify keeps class proportions; y holds no labels")
    rng = get_rng() if seed is None else np.random.default_rng(seed)
    if not stratify:
        perm = rng.permutation(n)
        val_idx = perm[:n_val]
    else:
        classes, inverse, counts = np.unique(dataset.y, return_inverse=True, return_counts=True)
        exact = counts * (n_val / n)
        take = np.floor(exact).astype(np.int64)
        short = n_val - int(take.sum())
        if short:  # largest remainders get the leftover validation slots
            order = np.argsort(-(exact - take), kind="stable")
            take[order[:short]] += 1
        parts = []
        for c in range(len(classes)):
            members = np.flatnonzero(inverse == c)
            parts.append(rng.permutation(members)[: take[c]])
        val_idx = np.concatenate(parts)
    is_val = np.zeros(n, dtype=bool)
    is_val[val_idx] = True
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)

    def subset(idx: np.ndarray) -> ArrayDataset:
        return ArrayDataset(
            dataset.X[idx],
            dataset.y[idx],
            num_classes=dataset.num_classes if dataset.targets == "labels" else None,
            dtype=dataset.X.dtype,
            targets=dataset.targets,
        )

    return subset(train_idx), subset(val_idx)
