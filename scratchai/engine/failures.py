"""What the stepper reports when the user's model, loss or optimizer raises during a step."""

from __future__ import annotations

import traceback
from pathlib import Path

from .model_index import ModelIndex


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
    """The step was interrupted (ctrl+c, or ``Stepper.interrupt()`` from another thread) and
    undone like a failed one: training is back at the last good step."""

    verb = "was interrupted"


def describe(exc: BaseException) -> str:
    """One line for what user code raised; exits and interrupts are never mistaken for success."""
    if isinstance(exc, SystemExit):  # a front end may raise one for os._exit: ``called``
        return f"the code called {getattr(exc, 'called', 'sys.exit')}({exc.code!r})"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"


def step_failed(phase: str, exc: BaseException, index: ModelIndex) -> StepFailed:
    """The report of ``exc``, raised during ``phase``, naming the module that raised it.

    Any ``BaseException`` is a failure of the step: a ``sys.exit()`` in a user's forward is
    not the end of training, and KeyboardInterrupt becomes a ``StepInterrupted``.
    """
    kind = StepInterrupted if isinstance(exc, KeyboardInterrupt) else StepFailed
    return kind(phase, exc, traceback_without_engine(exc), failing_module(exc, index))


def raise_in_thread(ident: int, exc_type: type[BaseException]) -> bool:
    """Raise ``exc_type`` in the thread ``ident`` at its next Python instruction (a pure-Python
    loop is interrupted; a long NumPy call finishes first). Returns whether it was delivered."""
    import ctypes

    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc_type)
    )
    return done == 1


def clear_pending_interrupt(ident: int) -> None:
    """Drop an exception ``raise_in_thread`` sent to thread ``ident`` that has not landed yet
    (the thread left the user's code first: it must not land in the engine's own code)."""
    import ctypes

    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)


def failing_module(exc: BaseException, index: ModelIndex) -> tuple[str, str] | None:
    """(path, type name) of the innermost model module on the traceback, if any."""
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
    engine_dir = Path(__file__).resolve().parent
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if Path(frame.filename).resolve().parent != engine_dir
    ]
    return (
        "Traceback (most recent call last):\n"
        + "".join(traceback.format_list(frames))
        + "".join(traceback.format_exception_only(type(exc), exc))
    )
