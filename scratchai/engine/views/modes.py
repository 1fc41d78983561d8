"""The same batch through the model in training and in evaluation mode, side by side.

BatchNorm normalises with the batch's statistics while training and with its running ones in
eval mode; Dropout drops units only while training. Running a batch both ways, without
changing anything (no gradient, buffers and random numbers put back), shows the difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchai.call_state import no_grad
from scratchai.engine.observe.probes import Probes
from scratchai.engine.observe.records import ModuleProbe
from scratchai.engine.timeline.randomness import capture_random, restore_random
from scratchai.engine.views.model_index import ModelIndex
from scratchai.module import Module


def compare_modes(
    index: ModelIndex, probes: Probes, xb: np.ndarray
) -> tuple[tuple[ModuleProbe, ...], tuple[ModuleProbe, ...]]:
    """Probe every layer's output for ``xb: (batch, features)`` in train mode, then eval mode.

    Returns:
        (train probes, eval probes), one per layer call in forward order.
    """
    model = index.model
    modes = [(m, m.training) for _, m in index.modules]
    buffers = [(buf, buf.copy()) for _, buf, _ in index.buffers]
    rng = capture_random()
    results = []
    calls: list[tuple[Module, Any, Any]] = []

    def record(module: Module, inputs: tuple, out: Any) -> None:
        if index.is_layer(module):
            calls.append((module, inputs[0] if inputs else None, out))

    try:
        for training in (True, False):
            model.train(training)
            calls.clear()
            with model.register_forward_hook(record, recurse=True), no_grad():
                model(xb)
            results.append(probes.modules(calls, None, 0.0))
            restore_random(rng)  # Dropout draws the same masks a training step would
            for buf, saved in buffers:  # BatchNorm's running statistics stay as they were
                np.copyto(buf, saved)
    finally:
        for module, training in modes:  # each module's own flag, as the user had set it
            module.training = training
        restore_random(rng)
        for buf, saved in buffers:
            np.copyto(buf, saved)
    return results[0], results[1]
