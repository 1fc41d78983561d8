"""``exercise run``: the lesson's MLP built from the learner's Linear, ReLU and
CrossEntropyLoss, as a scratchai Experiment the debugger can step.

Layers written as subclasses of ``scratchai.Module`` are used as they are. Layers on the
learner's own Module (exercise 2) are wrapped: a scratchai Module of the same class name whose
forward and backward call the learner's, and whose Parameters are scratchai Parameters over
the learner's own arrays (the learner's layer reads and adds into those very objects), so the
debugger's probes, backward check, flow and optimizer see the learner's code at work.
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class LearnerLayer(sa.Module):
    """A learner's layer on their own Module, seen by the debugger as a scratchai Module."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner
        for name, value in list(vars(inner).items()):
            data = getattr(value, "data", None)
            if isinstance(data, np.ndarray) and hasattr(value, "grad"):
                param = sa.Parameter(np.asarray(data, dtype=np.result_type(data, np.float32)))
                setattr(self, name, param)
                object.__setattr__(inner, name, param)  # the learner's code now reads it

    def forward(self, *args: Any) -> Any:
        return self.inner.forward(*args)

    def backward(self, *args: Any) -> Any:
        return self.inner.backward(*args)

    def extra_repr(self) -> str:
        sizes = [getattr(self.inner, n, None) for n in ("in_features", "out_features")]
        if all(isinstance(s, int) for s in sizes):
            return f"in_features={sizes[0]}, out_features={sizes[1]}"
        return ""


_WRAPPERS: dict[type, type] = {}


def as_scratchai(layer: Any) -> sa.Module:
    """``layer`` itself if it is a scratchai Module, else wrapped (class name kept)."""
    if isinstance(layer, sa.Module):
        return layer
    cls = type(layer)
    wrapper = _WRAPPERS.get(cls)
    if wrapper is None:
        wrapper = type(
            cls.__name__,
            (LearnerLayer,),
            {"formula": getattr(cls, "formula", None), "__module__": cls.__module__},
        )
        _WRAPPERS[cls] = wrapper
    return wrapper(layer)


def lesson_mlp(nn: types.ModuleType, seed: int = 0) -> Experiment:
    """Linear(128 -> 64) -> ReLU -> Linear(64 -> 10), cross-entropy, SGD lr 0.1, from ``nn``."""
    for name in ("Linear", "ReLU", "CrossEntropyLoss"):
        if not callable(getattr(nn, name, None)):
            raise TypeError(
                f"mynn.py defines no {name}: exercise run needs Linear, ReLU and "
                "CrossEntropyLoss (exercises 6 and 7)"
            )
    data = make_clusters(n_samples=2000, num_features=128, num_classes=10, seed=seed)
    train, val = sa.train_val_split(data, val_fraction=0.2, seed=0)
    model = sa.Sequential(
        as_scratchai(nn.Linear(128, 64)),
        as_scratchai(nn.ReLU()),
        as_scratchai(nn.Linear(64, 10)),
    )
    loss = as_scratchai(nn.CrossEntropyLoss())
    return Experiment(
        model=model,
        loss=loss,
        optimizer=sa.SGD(model.parameters(), lr=0.1),
        train_loader=sa.DataLoader(train, batch_size=32, shuffle=True),
        val_data=val,
        name="mynn",
        description="the lesson's 128->64->10 MLP built from your Linear, ReLU, CrossEntropyLoss",
    )
