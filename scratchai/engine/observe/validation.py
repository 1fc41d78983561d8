"""The validation pass at the end of an epoch, and how a step's output is classified."""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchai.call_state import no_grad
from scratchai.module import Module

_CHUNK = 1024  # validation samples per forward: bounded memory on big validation sets


def is_classification(output: Any, targets: np.ndarray | None) -> bool:
    """Logits (batch, classes) against integer class labels (batch,)."""
    if not isinstance(output, np.ndarray) or output.ndim != 2:
        return False
    return targets is None or (targets.ndim == 1 and np.issubdtype(targets.dtype, np.integer))


def validate(model: Module, loss: Module, data: Any) -> tuple[float | None, float | None]:
    """Mean loss and accuracy (None unless classifying) of ``model`` on ``data`` in eval mode.

    The model goes back to training mode afterwards, even when a forward raises.
    """
    if data is None or not len(data):
        return None, None
    total = correct = 0.0
    out: Any = None
    yv: Any = None
    model.eval()
    try:
        with no_grad():
            for start in range(0, len(data), _CHUNK):
                xv, yv = data[np.arange(start, min(start + _CHUNK, len(data)))]
                out = model(xv)
                total += float(loss(out, yv)) * len(yv)
                if is_classification(out, yv):
                    correct += float(np.count_nonzero(out.argmax(axis=1) == yv))
    finally:
        model.train()
    accuracy = correct / len(data) if is_classification(out, yv) else None
    return total / len(data), accuracy
