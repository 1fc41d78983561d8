"""Data sets for the lesson: Gaussian clusters, 2-D spirals and the bundled 8x8 digits.

Each function returns an :class:`~scratchai.data.ArrayDataset` (X float32, y int64). The
synthetic ones use a private generator seeded by ``seed``, so they do not depend on (or move)
the library generator; ``seed=None`` draws from ``scratchai.get_rng()`` instead.
"""

from __future__ import annotations

import gzip
import math
from functools import lru_cache
from importlib import resources

import numpy as np

from .data import ArrayDataset
from .random import get_rng

__all__ = ["load_digits", "make_clusters", "make_spirals"]


def _generator(seed: int | None) -> np.random.Generator:
    return get_rng() if seed is None else np.random.default_rng(seed)


def make_clusters(
    n_samples: int = 2000,
    num_features: int = 128,
    num_classes: int = 10,
    spread: float = 3.0,
    seed: int | None = 0,
) -> ArrayDataset:
    """Gaussian clusters: the lesson's shapes (128 features, 10 classes) by default.

    Each class has a center drawn from N(0, 1) per feature; a sample is its class's center
    plus N(0, spread²) noise per feature, and the whole set is scaled by
    ``1 / sqrt(1 + spread²)`` so every feature has roughly unit variance (inputs are already
    "normalised", as the lesson's MLP expects). Labels are balanced (``i % num_classes``, then
    shuffled). With the defaults, centers are about ``sqrt(2 * 128) ≈ 16`` noise-free units
    apart, i.e. about 5 noise standard deviations: the lesson's MLP 128→64→10 with SGD lr 0.1
    at batch 32 starts near ln(10) and passes 95% training accuracy within a few hundred steps.
    Larger ``spread`` makes the problem harder.

    Args:
        n_samples: number of samples n.
        num_features: features per sample.
        num_classes: number of clusters (classes).
        spread: noise std relative to the per-feature center std.
        seed: seed of a private generator (None: the library generator).

    Returns:
        ArrayDataset with X: (n_samples, num_features) float32, y: (n_samples,) int64.
    """
    if n_samples < 1 or num_features < 1 or num_classes < 1:
        raise ValueError(
            f"n_samples, num_features and num_classes must be >= 1, got {n_samples}, "
            f"{num_features}, {num_classes}"
        )
    if not spread >= 0:
        raise ValueError(f"spread must be >= 0, got {spread}")
    rng = _generator(seed)
    centers = rng.standard_normal((num_classes, num_features))
    y = rng.permutation(np.arange(n_samples) % num_classes)
    X = centers[y] + float(spread) * rng.standard_normal((n_samples, num_features))
    X *= 1.0 / math.sqrt(1.0 + float(spread) ** 2)
    return ArrayDataset(X.astype(np.float32), y, num_classes=num_classes)


def make_spirals(
    n_per_class: int = 100, num_classes: int = 3, noise: float = 0.2, seed: int | None = 0
) -> ArrayDataset:
    """The CS231n 2-D spirals: ``num_classes`` interleaved arms, not linearly separable.

    Arm ``j`` has radius ``r`` from 0 to 1 and angle ``t = linspace(4j, 4(j+1)) + noise·N(0, 1)``;
    a point is ``(r sin t, r cos t)``.

    Args:
        n_per_class: points per arm.
        num_classes: number of arms (classes).
        noise: std of the angle noise, in radians.
        seed: seed of a private generator (None: the library generator).

    Returns:
        ArrayDataset with X: (n_per_class * num_classes, 2) float32, y: (n,) int64, grouped by
        class (the loader shuffles).
    """
    if n_per_class < 1 or num_classes < 1:
        raise ValueError(
            f"n_per_class and num_classes must be >= 1, got {n_per_class}, {num_classes}"
        )
    rng = _generator(seed)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), num_classes)
    arms = np.repeat(np.arange(num_classes), n_per_class)
    base = np.linspace(0.0, 4.0, n_per_class)
    t = (4.0 * arms + np.tile(base, num_classes)) + float(noise) * rng.standard_normal(r.shape)
    X = np.column_stack([r * np.sin(t), r * np.cos(t)])
    return ArrayDataset(X.astype(np.float32), arms, num_classes=num_classes)


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    source = resources.files("scratchai") / "datasets_data" / "digits.csv.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt") as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.int64)
    X, y = table[:, :-1], table[:, -1]
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def load_digits() -> ArrayDataset:
    """The 8×8 handwritten digits bundled with scratchai (no download).

    1,797 images from the test set of UCI's "Optical Recognition of Handwritten Digits"
    (Alpaydin & Kaynak, 1998; CC BY 4.0), via scikit-learn's copy; see
    ``scratchai/datasets_data/README.md``. Each pixel is an integer count 0..16; reshape a row
    to (8, 8) to see the image. Standardise (fitted on the training split) before training.

    Returns:
        ArrayDataset with X: (1797, 64) float32 values 0..16, y: (1797,) int64 in 0..9.
    """
    X, y = _digits_arrays()
    return ArrayDataset(X.astype(np.float32), y.copy(), num_classes=10)
