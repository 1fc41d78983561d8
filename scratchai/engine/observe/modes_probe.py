"""Train and eval mode, probed at an epoch's end: the two mode bugs a hand-built module makes.

Eval mode must be deterministic (Dropout drops only while training), and a buffer such as a
batch norm's running statistics must follow training (eval mode normalises with them). Two
eval forwards of the last trained batch find the first module whose output differs between two
identical calls; each module whose own buffers have not changed since training began is then
called alone, on the input it got, in train mode (twice: it must be deterministic) and in eval
mode, and the two outputs compared.

It runs the user's forward a few times at the first epoch's end, then at most about every
``every`` steps (at the end of an epoch in which a multiple of ``every`` fell: a function of the
step alone, so a replay probes the same epochs), on the batch's first ``ROWS`` rows only (a
probe costs a fraction of one step), changes nothing (modes,
buffers and random generators are put back) and records what it measured; the rules
(``eval_randomness``, ``frozen_statistics``) judge it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scratchai.call_state import no_grad
from scratchai.engine.checks.raised import forward_raised
from scratchai.engine.observe.records import ModeDifference, ModesProbe
from scratchai.engine.timeline.randomness import capture_random, restore_random
from scratchai.engine.views.model_index import ModelIndex
from scratchai.module import Module

ROWS = 32  # rows of the batch probed: enough for a batch norm's statistics, cheap on big models


class ModeProbes:
    """Probes one indexed model's train and eval modes; remembers its buffers' first values.

    Args:
        index: the model's index (its layers and buffers).
        every: steps between probes, at least (see ``due``).
    """

    def __init__(self, index: ModelIndex, every: int = 100) -> None:
        self.index = index
        self.every = max(1, every)
        # each module's own floating-point buffers, by name (a learner's forward may assign a
        # new array to the name rather than update the old one), as training found them
        self._initial: list[tuple[str, Module, list[tuple[str, np.ndarray]]]] = []
        for path, module in index.modules:
            own = [
                (name, buf.copy())
                for name, buf in module.named_buffers(recurse=False)
                if isinstance(buf, np.ndarray) and buf.size and buf.dtype.kind == "f"
            ]
            if own:
                self._initial.append((path, module, own))

    def due(self, step: int, epoch_steps: int) -> bool:
        """Whether the epoch of ``epoch_steps`` steps that ended at ``step`` is probed: the
        first, and each one in which a multiple of ``every`` fell."""
        return step <= epoch_steps or step // self.every != (step - epoch_steps) // self.every

    def probe(self, xb: Any) -> ModesProbe | None:
        """Probe on the batch ``xb`` (None when there is none, or the model's forward takes
        something the probe cannot compare)."""
        if xb is None:
            return None
        if isinstance(xb, np.ndarray) and xb.ndim:
            xb = xb[:ROWS]
        model = self.index.model
        modes = [(m, m.training) for _, m in self.index.modules]
        buffers = _snapshot([m for _, m in self.index.modules])
        rng = capture_random()
        try:
            model.eval()
            first, second = self._calls(model, xb), self._calls(model, xb)
            random = _first_difference(first, second, self.index)
            frozen = self._frozen(first)
        except (Exception, SystemExit) as exc:  # the user's code: reported, never swallowed
            index = self.index
            return ModesProbe(error=forward_raised(exc, index.path_of, dict(index.modules)))
        finally:
            for module, training in modes:
                module.training = training
            _restore(buffers)
            restore_random(rng)
        return ModesProbe(random, frozen)

    def _calls(self, model: Module, xb: Any) -> list[tuple[Module, Any, Any]]:
        calls: list[tuple[Module, Any, Any]] = []

        def record(module: Module, inputs: tuple, out: Any) -> None:
            calls.append((module, inputs[0] if len(inputs) == 1 else None, out))

        with model.register_forward_hook(record, recurse=True), no_grad():
            model(xb)
        return calls

    def _frozen(self, calls: list[tuple[Module, Any, Any]]) -> tuple[ModeDifference, ...]:
        """Modules whose buffers never changed, whose train and eval outputs differ."""
        found = []
        for path, module, own in self._initial:
            now = dict(module.named_buffers(recurse=False))
            if not all(name in now and np.array_equal(now[name], first) for name, first in own):
                continue  # it updates its statistics
            x = next((inp for m, inp, _ in calls if m is module), None)
            if not isinstance(x, np.ndarray):
                continue  # not called, or called with several inputs
            saved = _snapshot([module])
            outputs = []
            for training in (True, True, False):
                module.training = training
                with no_grad():
                    outputs.append(module(x))
                _restore(saved)
            train, again, evaluated = outputs
            if _difference(train, again) != 0.0:
                continue  # random in train mode (a dropout inside): no fixed reference
            found.append(
                ModeDifference(
                    path,
                    type(module).__name__,
                    _difference(train, evaluated),
                    tuple(name for name, _ in own),
                )
            )
        return tuple(found)


def _snapshot(modules: list[Module]) -> list[tuple[Module, str, Any, Any]]:
    """Each module's own buffers: (module, name, the array, a copy of its values)."""
    return [
        (m, name, buf, buf.copy() if isinstance(buf, np.ndarray) else buf)
        for m in modules
        for name, buf in m.named_buffers(recurse=False)
    ]


def _restore(snapshot: list[tuple[Module, str, Any, Any]]) -> None:
    """Put back the arrays (a forward may have assigned new ones) and their values."""
    for module, name, buf, values in snapshot:
        if getattr(module, name) is not buf:
            setattr(module, name, buf)
        if isinstance(buf, np.ndarray):
            np.copyto(buf, values)


def _first_difference(
    first: list[tuple[Module, Any, Any]],
    second: list[tuple[Module, Any, Any]],
    index: ModelIndex,
) -> tuple[ModeDifference, ...]:
    """The first call (in the order calls return: a layer before its container) whose output
    differs between two identical eval forwards while its input did not."""
    if len(first) != len(second):
        return ()
    for (module, x1, out1), (other, x2, out2) in zip(first, second, strict=True):
        if module is not other:
            return ()
        difference = _difference(out1, out2)
        if difference == 0.0:
            continue
        if _difference(x1, x2) != 0.0:
            return ()  # its input already differed: made by code outside any module
        path = index.path_of(module)
        return (ModeDifference(path or "", type(module).__name__, difference),)
    return ()


def _difference(a: Any, b: Any) -> float:
    """max |a - b| relative to max |a| (0.0 when equal; inf when not comparable)."""
    if a is b:
        return 0.0
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
        return 0.0 if a is None and b is None else np.inf
    if a.dtype.kind != "f":
        return 0.0 if np.array_equal(a, b) else np.inf
    with np.errstate(all="ignore"):
        gap = float(np.max(np.abs(a - b), initial=0.0))
        scale = float(np.max(np.abs(a), initial=0.0))
    if gap == 0.0 or not np.isfinite(gap):
        return 0.0 if np.array_equal(a, b, equal_nan=True) else float(gap)
    return gap / max(scale, 1e-12)
