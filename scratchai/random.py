"""One random generator for the whole library, so ``manual_seed`` makes runs reproducible."""

from __future__ import annotations

from typing import Any

import numpy as np

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed initialisation, dropout masks and data shuffling (the generator object is kept)."""
    _generator.bit_generator.state = np.random.PCG64(seed).state


def get_rng() -> np.random.Generator:
    """The library's generator; always the same object, reseeded in place."""
    return _generator


def get_rng_state() -> dict[str, Any]:
    """A copy of the generator state, to restore with ``set_rng_state`` (rewind uses it)."""
    return dict(_generator.bit_generator.state)


def set_rng_state(state: dict[str, Any]) -> None:
    _generator.bit_generator.state = state
