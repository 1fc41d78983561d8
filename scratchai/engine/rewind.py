"""Rewind: snapshots taken before each step, and putting training back exactly as it was.

A snapshot holds the *world* the user's code touches (parameters, buffers, optimizer state,
the random generator, the data loader's position) and, opaque to this module, the stepper's
own counters and rule state, which the stepper takes back itself.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..module import Module
from ..random import get_rng_state, set_rng_state
from .experiment import Experiment
from .model_index import ModelIndex


@dataclass(slots=True)  # built every step: slots construct about 3x faster than frozen
class Snapshot:
    """Everything needed to put training back exactly where it was before a step.

    Attributes:
        params / buffers: copies, in the index's order, restored by copying into the live
            arrays so that ties and identities survive.
        engine: the stepper's own state (counters, rules), handed back as it was given.
    """

    params: tuple[np.ndarray, ...]
    buffers: tuple[np.ndarray, ...]
    optimizer: dict
    rng: dict
    loader: dict
    engine: Any


class Rewinder:
    """The last ``depth`` snapshots of an experiment's training (0: no rewind, fastest)."""

    def __init__(self, index: ModelIndex, experiment: Experiment, depth: int) -> None:
        if depth < 0:
            raise ValueError(f"snapshot_depth must be >= 0, got {depth}")
        self._index = index
        self._experiment = experiment
        self._snapshots: deque[Snapshot] = deque(maxlen=depth)

    def __len__(self) -> int:
        """How many steps can be undone now."""
        return len(self._snapshots)

    @property
    def enabled(self) -> bool:
        return self._snapshots.maxlen != 0

    def push(self, engine: Any) -> None:
        """Snapshot the world now, with the stepper's ``engine`` state beside it."""
        exp = self._experiment
        self._snapshots.append(
            Snapshot(
                params=tuple(p.data.copy() for _, _, p in self._index.params),
                buffers=tuple(buf.copy() for _, buf, _ in self._index.buffers),
                optimizer=copy_tree(exp.optimizer.state_dict()),
                rng=get_rng_state(),
                loader=exp.train_loader.state_dict(),  # already a copy
                engine=engine,
            )
        )

    def pop(self, k: int = 1) -> Any:
        """Put the world back as it was ``k`` snapshots ago (at most as many as there are)
        and return the stepper state saved with it, or None when there is none."""
        k = min(k, len(self._snapshots))
        if k <= 0:
            return None
        for _ in range(k - 1):
            self._snapshots.pop()
        snap = self._snapshots.pop()
        for (_, _, p), saved in zip(self._index.params, snap.params, strict=True):
            np.copyto(p.data, saved)
            p.zero_grad()
        for (_, buf, _), saved in zip(self._index.buffers, snap.buffers, strict=True):
            np.copyto(buf, saved)
        optimizer = self._experiment.optimizer
        lr = optimizer.lr  # the user's latest lr survives a rewind: "rewind, lower lr, go on"
        optimizer.load_state_dict(copy_tree(snap.optimizer))
        optimizer.lr = lr
        set_rng_state(snap.rng)
        self._experiment.train_loader.load_state_dict(copy_tree(snap.loader))
        return snap.engine


def copy_tree(value: Any) -> Any:
    """Copy of nested dicts/lists holding arrays (an optimizer's or a loader's state).

    Arrays are copied; numbers and strings are immutable and shared as they are.
    """
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: copy_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(copy_tree(v) for v in value)
    return value


def save_checkpoint(model: Module, name: str, step: int, path: str | Path | None = None) -> Path:
    """Save ``model``'s state_dict (safetensors, written atomically) to ``path``, by default
    ``checkpoints/NAME-stepN.safetensors``; returns the absolute path."""
    from ..serialization import save

    target = (
        Path(path) if path is not None else Path("checkpoints", f"{name}-step{step}.safetensors")
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    save(model, target)
    return target.resolve()
