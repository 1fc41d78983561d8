"""What the stepper reports when the user's model, loss or optimizer raises during a step."""

from __future__ import annotations

import traceback
from pathlib import Path

from scratchai.engine.stepping.interrupts import Interrupted
from scratchai.engine.views.model_index import ModelIndex
from scratchai.errors import ShapeError


class StepFailed(Exception):
    """The user's model, loss or optimizer raised during a step; training was put back.

    Attributes:
        phase: the phase that was running ('forward', 'loss', 'backward', 'update', ...).
        module: path of the innermost module of the model that was running when it raised
            ('' is the model itself), or None when no module was (the loss, the optimizer).
        place: the phase and the module, for messages: "forward of module '2' (Boom)".
        summary: one line, ``ExceptionType: message``.
        traceback_text: the full traceback as text.
    """

    def __init__(
        self,
        phase: str,
        exc: BaseException,
        traceback_text: str,
        module: tuple[str, str] | None = None,
    ) -> None:
        self.phase = phase
        self.exception = exc
        self.module = module[0] if module else None
        if module is None:
            self.place = phase
        else:
            path, type_name = module
            who = f"module '{path}'" if path else "the model"
            self.place = f"{phase} of {who} ({type_name})"
        self.summary = describe(exc)
        self.traceback_text = traceback_text
        super().__init__(f"step {self.verb} during {self.place}: {self.summary}")

    verb = "failed"


class StepInterrupted(StepFailed):
    """The step was interrupted (``Stepper.interrupt()``: the app's ``i`` or ctrl+c, a
    headless ctrl+c) and undone like a failed one: training is back at the last good step."""

    verb = "was interrupted"


def describe(exc: BaseException) -> str:
    """One line for what user code raised; exits and interrupts are never mistaken for success."""
    if isinstance(exc, SystemExit):  # a front end may raise one for os._exit: ``called``
        return f"the code called {getattr(exc, 'called', 'sys.exit')}({exc.code!r})"
    if isinstance(exc, Interrupted):
        return "interrupted"
    if isinstance(exc, KeyboardInterrupt):  # raised by the code itself, not by a ctrl+c
        return f"the code raised KeyboardInterrupt({', '.join(map(repr, exc.args))})"
    return f"{type(exc).__name__}: {exc}"


def step_failed(phase: str, exc: BaseException, index: ModelIndex) -> StepFailed:
    """The report of ``exc``, raised during ``phase``, naming the module that raised it.

    Any ``BaseException`` is a failure of the step: a ``sys.exit()`` or a ``KeyboardInterrupt``
    raised by a user's forward is not the end of training. Only an interrupt the user asked
    for (``Interrupted``) becomes a ``StepInterrupted``.
    """
    kind = StepInterrupted if isinstance(exc, Interrupted) else StepFailed
    if isinstance(exc, ShapeError) and index.path_of(exc.module) is not None:
        exc.locate(index.model)  # a container inside the model may have named a shorter path
    return kind(phase, exc, traceback_without_engine(exc), failing_module(exc, index))


def failing_module(exc: BaseException, index: ModelIndex) -> tuple[str, str] | None:
    """(path, type name) of the module the error names (a ``ShapeError`` or ``ReturnError``:
    the module that refused or returned a value), else of the innermost model module on the
    traceback, if any."""
    named = getattr(exc, "module", None) if isinstance(exc, ShapeError) else None
    if named is not None and index.path_of(named) is not None:
        return index.path_of(named) or "", type(named).__name__
    found = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        path = index.path_of(owner) if owner is not None else None
        if path is not None:
            found = (path, type(owner).__name__)
        tb = tb.tb_next
    return found


def traceback_without_engine(exc: BaseException) -> str:
    """The traceback minus the engine's own frames: the user's code and the layers it called."""
    engine_dir = Path(__file__).resolve().parents[1]
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if engine_dir not in Path(frame.filename).resolve().parents
    ]
    return (
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_list(frames))
        + "".join(traceback.format_exception_only(type(exc), exc))
    )
