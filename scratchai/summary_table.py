"""``print(sa.summarize(model, (32, 128)))``: the summary as a plain-text table (torchinfo-like).

``Summary`` is the list of ``LayerSummary`` records ``summarize`` always returned, plus the
parameter totals and a ``__str__`` that lays them out: path (indented by nesting), type,
input and output shapes, own parameters, and which other names share them; then the totals
counting each weight once and counting a shared weight once per owner. Plain text only, so it
reads the same in a terminal, a log file and a notebook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import html_repr

if TYPE_CHECKING:  # summary.py defines the records and imports this file
    from .summary import LayerSummary

HEADERS = ("Layer (path)", "Type", "Input shape", "Output shape", "Params", "Shared with")


class Summary(list["LayerSummary"]):
    """One ``LayerSummary`` per module call of the example forward, in call order.

    Attributes:
        total_params: trainable scalars, each Parameter object counted once.
        naive_params: a shared weight counted once per owner (what summing per layer gives).
    """

    def __init__(
        self, records: Iterable[LayerSummary], total_params: int = 0, naive_params: int = 0
    ) -> None:
        super().__init__(records)
        self.total_params = total_params
        self.naive_params = naive_params

    def rows(self) -> list[tuple[str, ...]]:
        """The table's cells, one tuple per call, in ``HEADERS`` order."""
        seen: dict[str, int] = {}
        rows: list[tuple[str, ...]] = []
        for r in self:
            seen[r.path] = seen.get(r.path, 0) + 1
            name = r.path or "(model)"
            if seen[r.path] > 1:  # the same weights again: not counted twice in the totals
                name += f" (call {seen[r.path]})"
            shared = "; ".join(f"{n} <-> {', '.join(others)}" for n, others in r.shared)
            rows.append(
                (
                    "  " * r.depth + name,
                    r.type_name,
                    _shape(r.input_shape),
                    _shape(r.output_shape),
                    f"{r.num_params:,}" if r.num_params else "-",
                    shared,
                )
            )
        return rows

    def __str__(self) -> str:
        rows = self.rows()
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(HEADERS)]

        def line(cells: tuple[str, ...]) -> str:
            parts = [
                cell.rjust(width) if i == 4 else cell.ljust(width)
                for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        rule = "=" * len(line(tuple("x" * w for w in widths)))
        out = [line(HEADERS), rule, *(line(row) for row in rows), rule, *self.notes()]
        return "\n".join(out)

    def notes(self) -> list[str]:
        """The lines under the table: the totals, with and without sharing."""
        notes = [f"Total params: {self.total_params:,} (each weight once)"]
        if self.naive_params != self.total_params:
            saved = self.naive_params - self.total_params
            notes.append(
                f"Counting each owner of a shared weight: {self.naive_params:,} "
                f"(sharing saves {saved:,})"
            )
        else:
            notes.append("No shared weights.")
        return notes

    def _repr_html_(self) -> str:
        """A notebook cell shows the table as HTML (the same cells and totals)."""
        return html_repr.table(HEADERS, self.rows(), right=(4,), notes=self.notes())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython and Jupyter show the table, not the list of records."""
        printer.text("Summary(...)" if cycle else str(self))


def _shape(shape: tuple[int, ...] | None) -> str:
    return "-" if shape is None else str(shape)
