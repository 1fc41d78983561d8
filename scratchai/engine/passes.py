"""How the forward and backward passes of one batch run, and what they leave behind.

A pass runs whole (training at full speed), whole with an event per layer (stepping one phase),
or paused after every layer (stepping one layer, in a ``PausablePass`` thread). Every forward
call is kept on a ``Tape``, because the step's probes describe each layer call; what is worked
out from it (the layers' calls, the input shapes a backward must return) is worked out only
when something asks.
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
from .checks.backward import is_library_module
from .checks.diagnose import shape_problem
from .contributions import GradShares
from .failures import raise_in_thread
from .layerwise import PausablePass
from .model_index import ModelIndex
from .probes import array_stats, squared_norm
from .records import Granularity, LayerEvent

#: One forward call of a layer: (module, its first input, its output).
ForwardCall = tuple[Module, Any, Any]


class Tape:
    """Every module call of one forward, in the order the calls returned (a container after
    its children): ``calls[i] = (module, its positional inputs as a tuple, its output)``,
    e.g. ``(Linear, (x,), out)`` with x: (batch, in_features) and out: (batch, out_features).

    Recording is one append per call; ``layers`` filters and reshapes on first use, which a
    run needs only on the steps whose per-layer statistics it measures.
    """

    __slots__ = ("_index", "_layers", "calls")

    def __init__(self, index: ModelIndex) -> None:
        self._index = index
        self.calls: list[tuple[Module, tuple, Any]] = []
        self._layers: list[ForwardCall] | None = None

    @property
    def layers(self) -> list[ForwardCall]:
        """The layers' calls (containers left out), in forward order."""
        if self._layers is None:
            is_layer = self._index.is_layer
            self._layers = [
                (module, inputs[0] if inputs else None, output)
                for module, inputs, output in self.calls
                if is_layer(module)
            ]
        return self._layers


class Passes:
    """Runs one batch's passes over an indexed model and keeps their layer calls and events.

    Attributes:
        tape: the forward calls of the batch in progress.
        events: the layer events of the batch in progress (stepping layers or phases).
        active_path: the layer a layer-by-layer pass is paused after, else None.
    """

    def __init__(self, index: ModelIndex) -> None:
        self.index = index
        self.tape = Tape(index)
        self.events: list[LayerEvent] = []
        self.active_path: str | None = None
        self.last_event: LayerEvent | None = None
        self._recording = False
        self._forward_events = False  # stepping phases: every forward call becomes an event
        self._calls: Counter[int] | None = None  # calls per module in this batch's forward
        self._parked: PausablePass | None = None
        # The input shapes of the batch's calls of each module, in call order (from the tape,
        # at the first backward that is checked): a backward must return that shape.
        self._input_shapes: dict[int, list[tuple[int, ...] | None]] | None = None
        self.shares = GradShares(index)
        # Hooks for the stepper's whole life (not one per batch): O(1) per step. Only the
        # modules the user wrote have their backward's return checked: scratchai's own are
        # tested, and a model made of them pays nothing for the check.
        self._handles: list[HookHandle] = index.hook(forward=self._on_forward)
        self._handles += [
            module.register_backward_hook(self._check_return)
            for _, module in index.modules
            if not is_library_module(module)
        ]

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
        self.tape = Tape(self.index)
        self._input_shapes = None
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
            self.shares.learn(self.tape)  # once: which modules the model reuses
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
        if self._recording:
            self.tape.calls.append((module, inputs, output))
            if self._forward_events and self.index.is_layer(module):
                self._add_event("forward", module, (inputs, output))

    def _check_return(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        """A backward must return a gradient shaped like its call's input (a wrong shape that
        broadcasts would corrupt every gradient before it without an error)."""
        if self._input_shapes is None:
            self._input_shapes = {}
            for called, inputs, _ in self.tape.calls:
                first = inputs[0] if len(inputs) == 1 else None
                shape = first.shape if isinstance(first, np.ndarray) else None
                self._input_shapes.setdefault(id(called), []).append(shape)
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
            self._calls = Counter(id(m) for m, _, _ in self.tape.calls)
        if not own or self._calls[id(module)] > 1 or any(self.index.is_shared(p) for p in own):
            return None
        grads = [p.peek_grad() for p in own]  # None: this backward added nothing to it
        return math.sqrt(sum(squared_norm(g) for g in grads if g is not None))
