"""The run's history written out for a notebook or a spreadsheet: CSV or JSON.

Per step: loss, accuracy, lr, the total grad norm and each parameter's; per epoch: the
validation loss and accuracy. Steps older than the history's full-resolution window are
averaged in groups (their ``step`` is the group's mean), as the charts show them.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from scratchai.engine.observe.records import EpochRecord
from scratchai.serialization import write_atomically

__all__ = ["EXPORT_SUFFIXES", "check_export_path", "export_run", "export_text"]

#: The formats an export is written in, chosen by the file's suffix.
EXPORT_SUFFIXES = (".csv", ".json")


def check_export_path(path: str | Path) -> None:
    """Refuse a suffix the export cannot write, before anything runs (the command line checks
    ``--export`` before training).

    Raises:
        ValueError: another suffix.
    """
    path = Path(path)
    if path.suffix.lower() not in EXPORT_SUFFIXES:
        raise ValueError(f"export to .csv or .json, not '{path.suffix or path.name}'")


def _number(value: float) -> float | None:
    """JSON has no NaN/Inf: they become null (CSV writes them as 'nan' / 'inf')."""
    return value if math.isfinite(value) else None


def _cell(value: float) -> str:
    """A whole number as an integer (steps), anything else exactly (repr round-trips)."""
    return str(int(value)) if value.is_integer() else repr(value)


def export_run(
    name: str, fields: tuple[str, ...], table: Any, epochs: tuple[EpochRecord, ...], path: Path
) -> Path:
    """Write the run to ``path``: ``.json`` (steps, epochs) or ``.csv`` (a row per step,
    validation columns filled on the steps that ended an epoch). Written atomically.

    A long run's oldest rows are averages over groups of steps, each labelled by its last
    step (see ``History``): in the CSV an epoch's validation goes on the row whose group holds
    the step it ended on (the last such epoch, if several ended in one group).

    Args:
        fields: the history's column names; table: its rows, (steps, len(fields)).

    Raises:
        ValueError: another suffix.
    """
    path = Path(path)
    text = export_text(name, fields, table, epochs, path.suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode())
    return path.resolve()


def export_text(
    name: str, fields: tuple[str, ...], table: Any, epochs: tuple[EpochRecord, ...], suffix: str
) -> str:
    """The text ``export_run`` writes, in the format ``suffix`` names (``.csv``, ``.json``).

    Raises:
        ValueError: another suffix.
    """
    check_export_path(f"history{suffix}")
    suffix = suffix.lower()
    steps = np.asarray(table[:, 0]) if len(table) else np.empty(0)
    rows = np.searchsorted(steps, [e.step for e in epochs])  # the first row at or after it
    by_row = {int(row): e for row, e in zip(rows, epochs, strict=True) if row < len(steps)}
    if suffix == ".json":
        document = {
            "experiment": name,
            "steps": {f: [_number(float(v)) for v in table[:, i]] for i, f in enumerate(fields)},
            "epochs": [
                {
                    "epoch": e.epoch + 1,  # counted from 1, as the app and headless show it
                    "step": e.step,
                    "train_loss": _number(e.train_loss),
                    "val_loss": None if e.val_loss is None else _number(e.val_loss),
                    "val_accuracy": None if e.val_accuracy is None else _number(e.val_accuracy),
                }
                for e in epochs
            ],
        }
        text = json.dumps(document, indent=1)
    elif suffix == ".csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([*fields, "val_loss", "val_accuracy"])
        for i, row in enumerate(table):
            epoch = by_row.get(i)
            val = ["", ""] if epoch is None else [epoch.val_loss, epoch.val_accuracy]
            cells = [_cell(float(v)) for v in row]
            writer.writerow(cells + ["" if v is None else v for v in val])
        text = out.getvalue()
    else:  # pragma: no cover: check_export_path refused it
        raise ValueError(f"export to .csv or .json, not '{suffix}'")
    return text
