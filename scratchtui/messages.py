"""Messages the debugger's widgets post to the app.

Kept in one module with no widget imports so every panel can post them and the app can handle
them without import cycles.
"""

from __future__ import annotations

from textual.message import Message


class PathSelected(Message):
    """The user selected a module, parameter or buffer (tree node, table row, warning).

    Attributes:
        path: dotted path in the model (``""`` is the root module).
        kind: ``"module"``, ``"parameter"`` or ``"buffer"``.
        call: which call of a module used several times in the forward (1-based).
    """

    def __init__(self, path: str, kind: str, call: int = 1) -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.call = call


class WarningSelected(Message):
    """The user selected a warning; the app highlights the module or parameter it names.

    Attributes:
        target: the path the warning names, or ``None`` for a model-wide warning.
    """

    def __init__(self, target: str | None) -> None:
        super().__init__()
        self.target = target


class TrainingStopped(Message):
    """Posted from the training worker thread when a run (or an epoch) ends.

    ``post_message`` is thread-safe, unlike most of the app; the handler runs on the UI thread.

    Attributes:
        advance: what the run did (an ``Advance``), or None if it failed.
        error: the ``StepFailed`` (or unexpected exception) that ended it, if any.
    """

    def __init__(self, advance: object | None, error: BaseException | None) -> None:
        super().__init__()
        self.advance = advance
        self.error = error


class Notice(Message):
    """A line to show the user, posted from the training thread (``App.notify`` is not
    thread-safe, ``post_message`` is).

    Attributes:
        text: what to say.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class FailureSelected(Message):
    """The user selected a failed step in the warnings panel; the app shows its traceback again.

    Attributes:
        error: the ``StepFailed`` the step raised.
        step: the last good step the model was kept at.
    """

    def __init__(self, error: BaseException, step: int) -> None:
        super().__init__()
        self.error = error
        self.step = step
