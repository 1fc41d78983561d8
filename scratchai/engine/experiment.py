"""The experiment contract: a Python file whose ``build()`` returns an ``Experiment``.

Every demo is such a file, and so is a user's own model, so ``scratchtui demo NAME`` and
``scratchtui run path/to/file.py`` go through the same loader.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
import types
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from scratchai.module import Module


@dataclass
class Experiment:
    """What the stepper trains.

    Attributes:
        model: the network; called as ``model(xb)`` with ``xb: (batch, features)``.
        loss: a loss module, ``loss(output, yb)`` -> scalar and ``loss.backward()`` -> dout.
        optimizer: an optimizer over ``model.parameters()`` (``step``, ``zero_grad``, ``lr``).
        train_loader: a ``scratchai.DataLoader`` (its ``next_batch()`` and state are used).
        val_data: optional ``ArrayDataset`` evaluated at the end of each epoch.
        name / description: shown by ``scratchtui demo --list`` and in the app header.
    """

    model: Module
    loss: Module
    optimizer: Any
    train_loader: Any
    val_data: Any = None
    name: str = "experiment"
    description: str = ""

    def __post_init__(self) -> None:
        """Refuse a field the stepper could not use, saying what was given and what is needed."""
        problems: list[str | None] = [
            _expect(self.model, "model", "a scratchai Module, e.g. sa.Sequential(...)", Module),
            _expect(self.loss, "loss", "a loss Module, e.g. sa.CrossEntropyLoss()", Module),
            _expect(
                self.optimizer,
                "optimizer",
                "an optimizer over the model's parameters, e.g. sa.SGD(model.parameters(), lr=0.1)",
                None,
                ("step", "zero_grad", "lr", "state_dict", "load_state_dict"),
            ),
            _expect(
                self.train_loader,
                "train_loader",
                "a sa.DataLoader(dataset, batch_size=...)",
                None,
                ("next_batch", "__len__", "state_dict", "load_state_dict"),
            ),
            None
            if self.val_data is None
            else _expect(
                self.val_data,
                "val_data",
                "None or a dataset such as sa.ArrayDataset(X, y)",
                None,
                ("__len__", "__getitem__"),
            ),
            _expect(self.name, "name", "a str", str),
            _expect(self.description, "description", "a str", str),
        ]
        problems.append(_labels_problem(self.loss, getattr(self.train_loader, "dataset", None)))
        found = [p for p in problems if p]
        if found:
            raise TypeError("Experiment refused:\n  " + "\n  ".join(found))


def _labels_problem(loss: Any, dataset: Any) -> str | None:
    """A loss that needs class labels, given real-valued targets: say so and what to do."""
    if (
        not getattr(loss, "needs_class_labels", False)
        or getattr(dataset, "targets", None) != "values"
    ):
        return None
    shape = tuple(dataset.y.shape)
    hint = (
        "one-hot labels? pass y.argmax(axis=1)"
        if len(shape) == 2
        else "pass integer class indices, or targets='labels' to see which value is wrong"
    )
    return (
        f"loss={type(loss).__name__} needs integer class labels (n_samples,), but the training "
        f"data holds real-valued targets of shape {shape}: {hint}; for a regression use "
        "sa.MSELoss()"
    )


def _expect(
    value: Any, field: str, wanted: str, kind: type | None, methods: tuple[str, ...] = ()
) -> str | None:
    """What is wrong with ``value`` as the field ``field``, or None when it will do."""
    if kind is not None and not isinstance(value, kind):
        return f"{field}={_show(value)}: expected {wanted}"
    missing = [m for m in methods if not hasattr(value, m)]
    if missing:
        return f"{field}={_show(value)}: expected {wanted} (it has no {', '.join(missing)})"
    return None


def _show(value: Any) -> str:
    text = repr(value) if value is None or isinstance(value, (str, int, float)) else None
    return text if text is not None else f"<{type(value).__name__}>"


class ExperimentError(Exception):
    """A user's experiment file could not be loaded; the message points at the user's line."""


def _user_frames(exc: BaseException, path: Path) -> str:
    """The traceback, cut down to the frames in the user's file when there are any."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if Path(f.filename).resolve() == path]
    shown = traceback.format_list(mine or frames)
    return "".join(shown) + "".join(traceback.format_exception_only(type(exc), exc))


def _raised(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"called {getattr(exc, 'called', 'sys.exit')}({exc.code!r})"  # see failures.py
    if isinstance(exc, KeyboardInterrupt):
        return "was interrupted (ctrl+c)"
    return f"raised {type(exc).__name__}"


def import_user_file(path: Path, prefix: str, error: type[Exception]) -> types.ModuleType:
    """Import the user's file ``path`` as a fresh module, its folder importable as for
    ``python FILE`` (a model split over files works).

    Raises:
        error: the file cannot be imported, has a syntax error, or raised (an exit or a
            ctrl+c included) while importing; the message shows the user's lines.
    """
    module_name = f"{prefix}_{path.stem}_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise error(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise error(
            f"{path}:{exc.lineno}: syntax error: {exc.msg}\n    {(exc.text or '').rstrip()}"
        ) from None
    except BaseException as exc:  # a sys.exit() or ctrl+c in the file is no success either
        raise error(
            f"{path}: importing the file {_raised(exc)}:\n{_user_frames(exc, path)}"
        ) from None
    finally:
        sys.modules.pop(module_name, None)
    return module


def load_experiment_file(path: str | Path) -> Experiment:
    """Import ``path`` (a fresh module each time), call its ``build()`` and check the result.

    Raises:
        ExperimentError: missing file, syntax or import error, no ``build``, ``build`` raised,
            or returned something other than an ``Experiment``.
    """
    path = Path(path).resolve()
    if not path.is_file():
        raise ExperimentError(f"{path}: no such file")
    module = import_user_file(path, "scratchai_experiment", ExperimentError)
    build = getattr(module, "build", None)
    if not callable(build):
        raise ExperimentError(
            f"{path}: defines no build() function; an experiment file needs\n"
            "    def build() -> scratchai.engine.Experiment: ..."
        )
    try:
        experiment = build()
    except BaseException as exc:
        raise ExperimentError(
            f"{path}: build() {_raised(exc)}:\n{_user_frames(exc, path)}"
        ) from None
    if not isinstance(experiment, Experiment):
        raise ExperimentError(
            f"{path}: build() returned {type(experiment).__name__}, expected "
            "scratchai.engine.Experiment(model=..., loss=..., optimizer=..., train_loader=...)"
        )
    if not isinstance(experiment.model, Module):
        raise ExperimentError(
            f"{path}: Experiment.model is {type(experiment.model).__name__}, expected a "
            "scratchai Module"
        )
    return experiment


def reload_experiment_file(path: str | Path) -> Experiment:
    """``load_experiment_file`` again after the user edited it: the modules imported from the
    file's folder (its siblings) are imported afresh too, so edits to them count.

    Raises:
        ExperimentError: as ``load_experiment_file``; nothing else changes.
    """
    folder = Path(path).resolve().parent
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().parent == folder:
            del sys.modules[name]
    return load_experiment_file(path)


def demos_dir() -> Path:
    """Where the demo files are: inside the installed package, or the source tree's demos/."""
    installed = resources.files("scratchai").joinpath("demos")
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "demos"


def list_demos() -> list[tuple[str, str]]:
    """(name, first line of the file's docstring) for every demo."""
    found = []
    for file in sorted(demos_dir().glob("*.py")):
        if file.name.startswith("_"):
            continue
        text = file.read_text(encoding="utf-8")
        doc = text.split('"""')[1].strip().splitlines()[0] if text.startswith('"""') else ""
        found.append((file.stem, doc))
    return found


def load_demo(name: str) -> Experiment:
    path = demos_dir() / f"{name}.py"
    if not path.is_file():
        names = ", ".join(n for n, _ in list_demos())
        raise ExperimentError(f"no demo named '{name}'; the demos are: {names}")
    return load_experiment_file(path)
