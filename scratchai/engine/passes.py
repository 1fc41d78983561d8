"""How the forward and backward passes of one batch run, and what they leave behind.

A pass runs whole (training at full speed), whole with an event per layer (stepping one phase),
or paused after every layer (stepping one layer, in a ``PausablePass`` thread). Every forward
call of a layer is recorded, because the step's probes describe each call.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from ..errors import ReturnError
from ..hooks import HookHandle
from ..module import Module
from .checks.diagnose import shape_problem
from .contributions import GradShares
from .failures import raise_in_thread
from .layerwise import PausablePass
from .model_index import ModelIndex
from .probes import array_stats, squared_norm
from .records import Granularity, LayerEvent

#: One forward call of a layer: (module, its first input, its output).
ForwardCall = tuple[Module, Any, Any]


class Passes:
    """Runs one batch's passes over an indexed model and keeps their layer calls and events.

    Attributes:
        forward_calls: the layers' forward calls of the batch in progress, in order.
        events: the layer events of the batch in progress (stepping layers or phases).
        active_path: the layer a layer-by-layer pass is paused after, else None.
    """

    def __init__(self, index: ModelIndex) -> None:
        self.index = index
        self.forward_calls: list[ForwardCall] = []
        self.events: list[LayerEvent] = []
        self.active_path: str | None = None
        self.last_event: LayerEvent | None = None
        self._recording = False
        self._forward_events = False  # stepping phases: every forward call becomes an event
        self._calls: Counter[int] | None = None  # calls per module in this batch's forward
        self._parked: PausablePass | None = None
        # The input shape of every module call of the batch, per module, in call order: a
        # backward must return a gradient of that shape (checked as each backward returns).
        self._input_shapes: dict[int, list[tuple[int, ...] | None]] = {}
        self.shares = GradShares(index)
        # One hook each for the stepper's whole life (not one per batch): O(1) per step.
        self._handles: list[HookHandle] = index.hook(
            forward=self._on_forward, backward=self._check_return
        )

    # ------------------------------------------------------------------ lifetime
    @property
    def parked(self) -> bool:
        """A layer-by-layer pass is paused in the middle."""
        return self._parked is not None

    def interrupt(self, stepper_thread: int) -> bool:
        """Raise ``KeyboardInterrupt`` in the thread that runs the user's code now: a
        layer-by-layer pass thread, or else ``stepper_thread``."""
        parked = self._parked
        if parked is not None:
            return parked.interrupt(stepper_thread)
        return raise_in_thread(stepper_thread, KeyboardInterrupt)

    def cancel(self) -> None:
        """Abandon a parked pass (its thread unwinds) and forget the batch in progress."""
        if self._parked is not None:
            self._parked.cancel()
            self._parked = None
        self.active_path = None
        self.start_batch()

    def close(self) -> None:
        self.cancel()
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.shares.close()

    def start_batch(self) -> None:
        self.forward_calls = []
        self._input_shapes = {}
        self.shares.start_batch()
        self.events = []
        self._calls = None
        self._recording = self._forward_events = False

    # ------------------------------------------------------------------ running a pass
    def run(
        self, direction: str, fn: Callable[[], Any], granularity: Granularity
    ) -> Generator[Granularity, None, Any]:
        """Run ``fn`` (a forward or backward pass); when stepping layers, yield after each."""
        forward = direction == "forward"
        self._recording = forward
        self._forward_events = forward and granularity is Granularity.PHASE
        try:
            if granularity is Granularity.LAYER:
                result = yield from self._run_paused(direction, fn)
            elif granularity is Granularity.PHASE and not forward:
                with self.index.model.register_backward_hook(self._on_backward, recurse=True):
                    result = fn()
            else:
                result = fn()
        finally:
            self._recording = self._forward_events = False
        if forward:
            self.shares.learn(self.forward_calls)  # once: which modules the model reuses
        return result

    def _run_paused(
        self, direction: str, fn: Callable[[], Any]
    ) -> Generator[Granularity, None, Any]:
        self._parked = stepping = PausablePass(fn, direction, self.index)
        try:
            while (event := stepping.resume()) is not None:
                module, args = event
                self.active_path = self.index.path_of(module)
                self._add_event(direction, module, args)
                yield Granularity.LAYER
            return stepping.result()
        finally:
            stepping.cancel()  # no-op when finished; unblocks the thread when abandoned
            if self._parked is stepping:
                self._parked = None
                self.active_path = None

    def _on_forward(self, module: Module, inputs: tuple, output: Any) -> None:
        if not self._recording:
            return
        first = inputs[0] if len(inputs) == 1 else None
        shape = first.shape if isinstance(first, np.ndarray) else None
        self._input_shapes.setdefault(id(module), []).append(shape)
        if not self.index.is_layer(module):
            return
        self.forward_calls.append((module, inputs[0] if inputs else None, output))
        if self._forward_events:
            self._add_event("forward", module, (inputs, output))

    def _check_return(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        """A backward must return a gradient shaped like its call's input (a wrong shape that
        broadcasts would corrupt every gradient before it without an error)."""
        shapes = self._input_shapes.get(id(module))
        if not shapes:
            return  # a backward with no recorded forward (called by hand)
        expected = shapes.pop()  # calls are back-propagated in reverse order
        if expected is None or grad_input is None or np.shape(grad_input) == expected:
            return  # None: the core refuses it unless input_grad=False asked for it
        who = f"{type(module).__name__}.backward"
        raise ReturnError(shape_problem(grad_input, expected, who), module)

    def _on_backward(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        if self.index.is_layer(module):
            self._add_event("backward", module, (grad_output, grad_input))

    # ------------------------------------------------------------------ events
    def _add_event(self, direction: str, module: Module, args: tuple) -> None:
        first, second = args  # forward: (inputs, output); backward: (grad_output, grad_input)
        grad_norm = None
        if direction == "forward":
            first = first[0] if first else None
        else:
            grad_norm = self._final_grad_norm(module)
        self.last_event = LayerEvent(
            direction,
            self.index.path_of(module) or "",
            type(module).__name__,
            tuple(np.shape(first)) if first is not None else (),
            tuple(np.shape(second)),
            array_stats(np.asarray(second)),
            grad_norm,
        )
        self.events.append(self.last_event)

    def _final_grad_norm(self, module: Module) -> float | None:
        """Norm of the gradient of ``module``'s own parameters, right after its backward.

        None when that gradient is not final yet: a module called twice in the forward, or a
        parameter shared with another module, gets more gradient later in the backward.
        """
        own = self.index.own_parameters(module)
        if self._calls is None:  # counted once per batch: linear in depth, not quadratic
            self._calls = Counter(id(m) for m, _, _ in self.forward_calls)
        if not own or self._calls[id(module)] > 1 or any(self.index.is_shared(p) for p in own):
            return None
        grads = [p.peek_grad() for p in own]  # None: this backward added nothing to it
        return math.sqrt(sum(squared_norm(g) for g in grads if g is not None))
