"""Every random generator the user's code may draw from, saved and restored together.

The library's generator (``scratchai.random``) is what the built-in layers use, but a learner's
own Dropout often calls ``np.random.rand`` (NumPy's global generator) or Python's ``random``.
A check that must see the same draws on every evaluation, and a checkpoint that must replay
the same steps, save all three. Saving NumPy's global state costs tens of microseconds, so the
per-batch snapshot keeps only the library's (see ``checkpoints.py``).
"""

from __future__ import annotations

import random
import sys
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from scratchai.random import get_rng_state, manual_seed, set_rng_state


class RandomStates(NamedTuple):
    """Copies of the three generators' states."""

    library: dict[str, Any]
    numpy_global: Any
    python: Any


def seed_everything(seed: int) -> None:
    """Seed all three generators (the CLI's ``--seed``): a learner's own Dropout on
    ``np.random`` starts from the same draws at every launch, as the built-in one does."""
    manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def capture_random() -> RandomStates:
    return RandomStates(get_rng_state(), np.random.get_state(), random.getstate())


def random_nbytes(states: RandomStates) -> int:
    """About what the saved states hold in memory: NumPy's 624 key words, and Python's state,
    625 int objects (~20 KB, more than a small model's weights)."""
    return int(states.numpy_global[1].nbytes) + _python_state_bytes() + 1024  # + the dicts


@cache
def _python_state_bytes() -> int:
    """The size of ``random.getstate()``: its length and int sizes do not change."""
    words = random.getstate()[1]
    return sys.getsizeof(words) + sum(sys.getsizeof(w) for w in words)


def restore_random(states: RandomStates) -> None:
    set_rng_state(states.library)
    np.random.set_state(states.numpy_global)
    random.setstate(states.python)


def globals_drawn_since(states: RandomStates) -> bool:
    """Whether NumPy's global or Python's generator drew since ``states`` were captured."""
    now: Any = np.random.get_state()  # the legacy tuple: (name, keys, pos, gauss...)
    then = states.numpy_global
    same = now[0] == then[0] and now[2:] == then[2:] and np.array_equal(now[1], then[1])
    return not same or random.getstate() != states.python
