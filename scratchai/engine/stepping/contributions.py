"""Where the gradient of a shared weight comes from: each owner's (and each call's) share.

A parameter shared by two modules, or owned by a module called twice in one forward, ends a
backward with one summed gradient. To show each use's part, the owner's backward hook compares
the parameter's gradient with what it was after the previous use's backward; the difference is
that use's contribution. Only such modules are hooked, so a model without sharing or reuse pays
nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np

from scratchai.engine.observe.probes import array_stats
from scratchai.engine.observe.records import GradShare
from scratchai.engine.views.model_index import ModelIndex
from scratchai.hooks import HookHandle
from scratchai.module import Module
from scratchai.parameter import Parameter

if TYPE_CHECKING:
    from scratchai.engine.stepping.passes import Tape


class GradShares:
    """Measures, during each real backward, what every use of a shared parameter adds to it.

    Args:
        index: the model; the owners of shared parameters are hooked at once, modules called
            more than once per forward once the first forward has shown them (``learn``).
    """

    def __init__(self, index: ModelIndex) -> None:
        self.index = index
        self._watched: dict[int, tuple[tuple[str, Parameter], ...]] = {}
        self._handles: list[HookHandle] = []
        self._learned = False
        for _, module in index.modules:
            if not index.is_layer(module):
                continue
            shared = tuple(
                (index.owners[id(p)][0], p)
                for p in index.own_parameters(module)
                if index.is_shared(p)
            )
            if shared:
                self._watch(module, shared)
        self._last: dict[int, np.ndarray] = {}
        # (parameter, owner path, id(owner), its backward count then, the contribution)
        self._found: list[tuple[str, str, int, int, np.ndarray]] = []
        self._uses: Counter[int] = Counter()

    def _watch(self, module: Module, params: tuple[tuple[str, Parameter], ...]) -> None:
        self._watched[id(module)] = params
        self._handles.append(module.register_backward_hook(self._on_backward))

    def learn(self, tape: Tape) -> None:
        """After the first forward: also watch the modules with parameters it called twice."""
        if self._learned:
            return
        self._learned = True
        calls = tape.layers
        counts = Counter(id(m) for m, _, _ in calls)
        for module, _, _ in calls:
            if counts[id(module)] > 1 and id(module) not in self._watched:
                own = self.index.own_parameters(module)
                if own:
                    self._watch(module, tuple((self.index.owners[id(p)][0], p) for p in own))

    def start_batch(self) -> None:
        if self._watched:  # nothing to reset for a model without sharing or reuse
            self._last = {}
            self._found = []
            self._uses = Counter()

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _on_backward(self, module: Module, grad_output: Any, grad_input: Any) -> None:
        params = self._watched.get(id(module))
        if params is None:
            return
        self._uses[id(module)] += 1
        for name, p in params:
            grad = p.peek_grad()
            if grad is None:
                continue  # this backward added nothing to it
            previous = self._last.get(id(p))
            # copies: the gradient array is added into in place by the next use
            share = grad.copy() if previous is None else grad - previous
            self._last[id(p)] = grad.copy()
            owner = self.index.path_of(module) or ""
            self._found.append((name, owner, id(module), self._uses[id(module)], share))

    def take(self) -> tuple[GradShare, ...]:
        """This batch's contributions, in backward order; calls numbered in forward order."""
        out = []
        for name, owner, key, backward_count, share in self._found:
            uses = self._uses[key]  # the backward runs the calls in reverse order
            squares = float(np.dot(share.reshape(-1), share.reshape(-1)))
            out.append(
                GradShare(
                    name,
                    owner,
                    uses - backward_count + 1,
                    uses,
                    math.sqrt(squares) if squares == squares else math.nan,
                    array_stats(share),
                )
            )
        self._found = []
        return tuple(out)
