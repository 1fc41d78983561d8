"""The registry log: every registration into a Module's ``_parameters``, ``_modules`` and
``_buffers`` while a model is built, in order, with the source line of each assignment.

The lesson's state machine starts with "Defined -> Parameters registered": ``__setattr__``
sorting each attribute into one of the three dictionaries. This records it from outside the
core: ``recording_registrations()`` wraps ``Module.__setattr__``, ``register_parameter``,
``register_buffer`` and ``add_module`` at class level for the length of a ``with`` block (the
originals are put back in ``finally``), and writes down each call that succeeded. Which
registry a call fills follows from the call itself (a Parameter assigned: ``_parameters``; a
Module: ``_modules``; ``register_buffer``: ``_buffers``), so nothing reads the private
dictionaries.

After the build, ``RegistryLog.resolve(model=..., loss=...)`` names each owner by its path in
the finished tree and says which Parameter registrations are the same object as an earlier one
(shared: counted once) and which are a new object whose values equal an earlier one's (a copy,
counted twice).
"""

from __future__ import annotations

import linecache
import sys
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np

from scratchai import Module, Parameter

PARAMETERS, MODULES, BUFFERS = "_parameters", "_modules", "_buffers"
_WRAPPED = ("__setattr__", "register_parameter", "register_buffer", "add_module")
_PACKAGE = Path(sys.modules["scratchai"].__file__ or ".").resolve().parent
_state = threading.local()
_lock = threading.Lock()


@dataclass(frozen=True)
class Registration:
    """One registration, resolved against the finished model.

    Attributes:
        index: 1-based order of the registration.
        owner: the owner's path in the finished model ("" the model itself, "loss" for the
            loss; None when the owner is in neither).
        owner_type: the owner's class name.
        registry: ``_parameters``, ``_modules`` or ``_buffers``.
        name: the key in that registry (the attribute name).
        kind: "Parameter", "Module", "buffer", or "None" (an empty slot, e.g. no bias).
        shape: the Parameter's or buffer's shape (None for a Module or an empty slot).
        summary: what was registered, e.g. ``Parameter (128, 64) float32`` or ``Linear(...)``.
        file / line / code: the assignment (``self.W = Parameter(...)``), as a short path.
        via: the line outside scratchai's core that led to it (``demos/mlp.py:16``), or "".
        same_as: the index of an earlier registration of the same object (a shared weight or
            module: one object, counted once), else None.
        equal_to: for a new Parameter, the index of an earlier, different Parameter holding
            equal values (a copy: two objects, counted twice), else None.
        same_array: with ``equal_to``: the two Parameters wrap the very same array.
        replaces: the index of the registration this one overwrote (same owner and name).
    """

    index: int
    owner: str | None
    owner_type: str
    registry: str
    name: str
    kind: str
    shape: tuple[int, ...] | None
    summary: str
    file: str
    line: int
    code: str
    via: str
    same_as: int | None = None
    equal_to: int | None = None
    same_array: bool = False
    replaces: int | None = None

    @property
    def owner_label(self) -> str:
        """``model.branch_b`` / ``model`` / ``loss`` / ``(not in the model)``."""
        if self.owner is None:
            return "(not in the model)"
        if self.owner == "loss" or self.owner.startswith("loss."):
            return self.owner
        return f"model.{self.owner}" if self.owner else "model"


@dataclass
class _Raw:
    owner: Module
    registry: str
    name: str
    value: Any
    file: str
    line: int
    via: str


class RegistryLog:
    """What ``recording_registrations()`` saw; ``resolve`` turns it into ``Registration``s."""

    def __init__(self) -> None:
        self._raw: list[_Raw] = []

    def __len__(self) -> int:
        return len(self._raw)

    def add(self, owner: Module, registry: str, name: str, value: Any, frame: FrameType) -> None:
        file, line = frame.f_code.co_filename, frame.f_lineno
        via = ""
        if _is_core(file):
            outer: FrameType | None = frame.f_back
            while outer is not None and _is_core(outer.f_code.co_filename):
                outer = outer.f_back
            if outer is not None:
                via = f"{_short(outer.f_code.co_filename)}:{outer.f_lineno}"
        self._raw.append(_Raw(owner, registry, name, value, file, line, via))

    def keep(self, model: Module, loss: Module | None = None) -> list[Registration]:
        """``resolve`` and remember the result for ``model`` (``recorded(model)`` returns it),
        for a view opened later; kept as long as the model lives."""
        entries = self.resolve(model, loss)
        _KEPT[model] = entries
        return entries

    def resolve(self, model: Module, loss: Module | None = None) -> list[Registration]:
        """The registrations, owners named by their first path in ``model`` (or ``loss``)."""
        paths: dict[int, str] = {}
        for root, prefix in ((loss, "loss"), (model, "")):
            if root is not None:
                for path, module in root.named_modules(prefix):
                    paths[id(module)] = path
        first: dict[int, int] = {}  # id(value) -> index of its first registration
        slots: dict[tuple[int, str, str], int] = {}
        by_values: dict[tuple, list[tuple[int, Any]]] = {}
        out: list[Registration] = []
        for index, raw in enumerate(self._raw, start=1):
            value, kind, shape, summary = raw.value, *_describe(raw.value, raw.registry)
            same_as = first.get(id(value)) if value is not None else None
            equal_to, same_array = None, False
            if isinstance(value, Parameter) and same_as is None:
                key = (value.shape, str(value.dtype))
                for earlier, other in by_values.get(key, []):
                    if np.array_equal(other.data, value.data):
                        equal_to, same_array = earlier, np.shares_memory(other.data, value.data)
                        break
                by_values.setdefault(key, []).append((index, value))
            if value is not None:
                first.setdefault(id(value), index)
            slot = (id(raw.owner), raw.registry, raw.name)
            replaces = slots.get(slot)
            slots[slot] = index
            out.append(
                Registration(
                    index=index,
                    owner=paths.get(id(raw.owner)),
                    owner_type=type(raw.owner).__name__,
                    registry=raw.registry,
                    name=raw.name,
                    kind=kind,
                    shape=shape,
                    summary=summary,
                    file=_short(raw.file),
                    line=raw.line,
                    code=linecache.getline(raw.file, raw.line).strip(),
                    via=raw.via,
                    same_as=same_as,
                    equal_to=equal_to,
                    same_array=same_array,
                    replaces=replaces,
                )
            )
        return out


_KEPT: weakref.WeakKeyDictionary[Module, list[Registration]] = weakref.WeakKeyDictionary()


def recorded(model: Module) -> list[Registration] | None:
    """The registrations ``RegistryLog.keep`` remembered for ``model``, or None."""
    return _KEPT.get(model)


def _describe(value: Any, registry: str) -> tuple[str, tuple[int, ...] | None, str]:
    if value is None:
        return "None", None, "None (an empty slot)"
    if isinstance(value, Parameter):
        return "Parameter", tuple(value.shape), f"Parameter {tuple(value.shape)} {value.dtype}"
    if isinstance(value, Module):
        return "Module", None, value.short_repr()
    shape = tuple(np.shape(value))
    return "buffer", shape, f"array {shape} {getattr(value, 'dtype', '')}".rstrip()


def _is_core(file: str) -> bool:
    """A file of scratchai itself (or of this recorder), not a demo's or the user's."""
    try:
        relative = Path(file).resolve().relative_to(_PACKAGE)
    except ValueError:
        return False
    return relative.parts[0] != "demos"


def _short(file: str) -> str:
    """``scratchai/layers.py`` (installed or not), ``demos/mlp.py``, or the path relative to the
    current folder."""
    path = Path(file).resolve()
    if _PACKAGE in path.parents:  # scratchai's own files: the same name wherever it is installed
        return path.relative_to(_PACKAGE.parent).as_posix()
    for base in (Path.cwd(), _PACKAGE.parent):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return Path(path.parent.name, path.name).as_posix()


def _wrap(name: str, original: Any, log: RegistryLog) -> Any:
    def registering(self: Module, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_state, "depth", 0)
        _state.depth = depth + 1
        try:
            result = original(self, key, value, *args, **kwargs)
        finally:
            _state.depth = depth
        registry = _registry_of(name, self, key, value)
        if not depth and registry is not None:  # a nested call is part of the outer one
            log.add(self, registry, key, value, sys._getframe(1))
        return result

    registering.__name__ = name
    registering.__qualname__ = f"Module.{name}"
    registering.__doc__ = getattr(original, "__doc__", None)
    return registering


def _registry_of(method: str, module: Module, name: str, value: Any) -> str | None:
    """The registry a successful call filled, from the call alone (None: no registration)."""
    if method == "register_buffer":
        return BUFFERS
    if method == "add_module":
        return MODULES
    if method == "register_parameter":
        return PARAMETERS
    if isinstance(value, Parameter):
        return PARAMETERS
    if isinstance(value, Module):
        return MODULES
    if isinstance(value, np.ndarray):  # re-assigning a registered buffer keeps it one
        try:
            own = {key for key, _ in module.named_buffers(recurse=False)}
        except AttributeError:
            return None
        return BUFFERS if name in own else None
    return None


@contextmanager
def recording_registrations() -> Iterator[RegistryLog]:
    """Record every registration made while the block runs (in any thread), in order.

    Example::

        with recording_registrations() as log:
            experiment = build()
        for entry in log.resolve(experiment.model, experiment.loss): ...
    """
    if getattr(_state, "recording", False):
        raise RuntimeError("recording_registrations() is already recording in this thread")
    log = RegistryLog()
    with _lock:  # one recording at a time: the wrappers are process-wide while it lasts
        _state.recording = True
        saved = {name: Module.__dict__.get(name) for name in _WRAPPED}
        try:
            for name in _WRAPPED:
                setattr(Module, name, _wrap(name, getattr(Module, name), log))
            yield log
        finally:
            for name, original in saved.items():
                if original is None:
                    delattr(Module, name)
                else:
                    setattr(Module, name, original)
            _state.recording = False
