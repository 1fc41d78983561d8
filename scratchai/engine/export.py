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

from ..serialization import write_atomically
from .records import EpochRecord

__all__ = ["export_run"]


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

    Args:
        fields: the history's column names; table: its rows, (steps, len(fields)).

    Raises:
        ValueError: another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    by_step = {e.step: e for e in epochs}
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
        for row in table:
            epoch = by_step.get(int(row[0])) if float(row[0]).is_integer() else None
            val = ["", ""] if epoch is None else [epoch.val_loss, epoch.val_accuracy]
            cells = [_cell(float(v)) for v in row]
            writer.writerow(cells + ["" if v is None else v for v in val])
        text = out.getvalue()
    else:
        raise ValueError(f"export to .csv or .json, not '{suffix or path.name}'")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, text.encode())
    return path.resolve()
