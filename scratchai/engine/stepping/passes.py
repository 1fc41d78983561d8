"""How the forward and backward passes of one batch run, and what they leave behind.

A pass always runs whole, in the stepper's thread. Every forward call is kept on a ``Tape``,
because the step's probes describe each layer call; what is worked out from it (the layers'
calls, the input shapes a backward must return) is worked out only when something asks.

Stepping phases or layers, the pass also records a ``LayerEvent`` per layer call (and, stepping
layers through a backward, each parameter's gradient after each call). Stepping layers then
*reveals* the recorded events one at a time: every view reads the events shown so far, and the
gradients as they were at that point, so a reveal shows what a pause in the middle of the pass
would have shown. A pass that raised is revealed up to the module that raised, then fails.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Generator
from typing import Any

import numpy as np

from scratchai.engine.checks.backward import is_library_module
from scratchai.engine.checks.diagnose import shape_problem
from scratchai.engine.observe.probes import array_stats, squared_norm
from scratchai.engine.observe.records import Granularity, LayerEvent
from scratchai.engine.stepping.contributions import GradShares
from scratchai.engine.stepping.interrupts import Interrupted, Interrupts
from scratchai.engine.views.model_index import ModelIndex
from scratchai.errors import ReturnError, returned_none
from scratchai.hooks import HookHandle
from scratchai.module import Module
from scratchai.parameter import Parameter

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
    """Runs one batch's passes over an indexed model and keeps their calls and layer events.

    Attributes:
        tape: the forward calls of the batch in progress.
        last_event: the last layer event shown (None after a rewind).
    """

    def __init__(self, index: ModelIndex, interrupts: Interrupts) -> None:
        self.index = index
        self.interrupts = interrupts
        self.tape = Tape(index)
        self.last_event: LayerEvent | None = None
        self._events: list[LayerEvent] = []  # recorded in this batch
        self._shown = 0  # how many of them the views see (fewer while revealing)
        self._revealing = False
        # stepping layers through a backward: (events recorded before, {id(p): p's gradient})
        # after each call that added to a parameter's gradient, to show the partial gradients
        self._grads: list[tuple[int, dict[int, np.ndarray]]] = []
        self._recording = False
        self._forward_events = False  # stepping: every forward call of a layer is an event
        self._keep_grads = False
        self._calls: Counter[int] | None = None  # calls per module in this batch's forward
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

    def watch_stray(self, module: Module) -> None:
        """Record the calls of a module outside the model's tree too (its own hook, taken
        off with the others)."""
        self._handles.append(module.register_forward_hook(self._on_forward))

    # ------------------------------------------------------------------ what the views read
    @property
    def events(self) -> list[LayerEvent]:
        """The layer events of the batch in progress shown so far."""
        return self._events[: self._shown]

    @property
    def revealing(self) -> bool:
        """Stepping layers: a pass has run, and its events are being shown one by one."""
        return self._revealing

    @property
    def active_path(self) -> str | None:
        """The layer the reveal is at (a paused pass would be paused after it), else None."""
        return self._events[self._shown - 1].path if self._revealing else None

    def grad_of(self, param: Parameter) -> np.ndarray | None:
        """``param``'s gradient as the views should show it: while a backward is revealed,
        what it was after the call shown last (None: no call shown added to it yet)."""
        if not (self._revealing and self._grads):
            return param.peek_grad()
        if self._shown >= len(self._events):
            return param.peek_grad()
        found = None
        for recorded_before, grads in self._grads:
            if recorded_before >= self._shown:
                break
            found = grads.get(id(param), found)
        return found

    # ------------------------------------------------------------------ lifetime
    def cancel(self) -> None:
        """Forget the batch in progress (a rewind, or a failed step)."""
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
        self._events, self._shown, self._grads = [], 0, []
        self._revealing = False
        self._calls = None
        self._recording = self._forward_events = self._keep_grads = False

    # ------------------------------------------------------------------ running a pass
    def run(
        self, direction: str, fn: Callable[[], Any], granularity: Granularity
    ) -> Generator[Granularity, None, Any]:
        """Run ``fn`` (a forward or backward pass) whole; stepping layers, then yield once per
        layer event it recorded."""
        forward = direction == "forward"
        stepping = granularity <= Granularity.PHASE
        first = len(self._events)
        self._recording = forward
        self._forward_events = forward and stepping
        self._keep_grads = granularity is Granularity.LAYER and not forward
        failure: BaseException | None = None
        try:
            if stepping and not forward:
                with self.index.model.register_backward_hook(self._on_backward, recurse=True):
                    result = fn()
            else:
                result = fn()
        except Interrupted:
            raise  # stopped on request: nothing to show
        except BaseException as exc:
            if granularity is not Granularity.LAYER:
                raise
            failure = exc  # shown once the calls before it were
        finally:
            self._recording = self._forward_events = self._keep_grads = False
        if granularity is Granularity.LAYER:
            self._revealing = True
            for shown in range(first + 1, len(self._events) + 1):
                self._shown = shown
                self.last_event = self._events[shown - 1]
                yield Granularity.LAYER
            self._revealing = False
            if failure is not None:
                raise failure
        self._shown = len(self._events)
        if self._events and stepping:
            self.last_event = self._events[-1]
        if forward:
            self.shares.learn(self.tape)  # once: which modules the model reuses
        return result

    def _on_forward(self, module: Module, inputs: tuple, output: Any) -> None:
        if self.interrupts.requested:  # a module boundary: where an interrupt stops a step
            raise Interrupted
        if self._recording:
            self.tape.calls.append((module, inputs, output))
            if self._forward_events and self.index.is_layer(module):
                self._add_event("forward", module, (inputs, output))

    def _check_return(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        """A backward must return a gradient shaped like its call's input (a wrong shape that
        broadcasts would corrupt every gradient before it without an error)."""
        if self.interrupts.requested:
            raise Interrupted
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
        if grad_input is None and not module.accepts_input_grad:
            error = returned_none(module, grad_output)
        elif expected is None or grad_input is None or np.shape(grad_input) == expected:
            return
        else:
            who = f"{type(module).__name__}.backward"
            error = ReturnError(shape_problem(grad_input, expected, who), module)
        error.locate(self.index.model)
        raise error

    def _on_backward(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        if self._keep_grads:
            own = self.index.own_parameters(module)
            grads = {id(p): g.copy() for p in own if (g := p.peek_grad()) is not None}
            if grads:
                self._grads.append((len(self._events), grads))
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
        event = LayerEvent(
            direction,
            self.index.path_of(module) or "",
            type(module).__name__,
            tuple(np.shape(first)) if first is not None else (),
            tuple(np.shape(second)),
            array_stats(np.asarray(second)),
            grad_norm,
        )
        self._events.append(event)

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
