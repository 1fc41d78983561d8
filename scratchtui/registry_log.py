"""``scratchtui demo NAME --registry`` / ``run FILE --registry``: print every registration into
``_parameters``, ``_modules`` and ``_buffers`` made while ``build()`` ran, in order, and exit."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape

import scratchai as sa
from scratchai.engine import ExperimentError, load_demo, load_experiment_file
from scratchai.engine.views import Registration, recording_registrations

from .guard import os_exit_guarded
from .headless import EXIT_OK, EXIT_USER_ERROR

_COLOUR = {"_parameters": "cyan", "_modules": "magenta", "_buffers": "yellow"}


def describe(entry: Registration, entries: list[Registration]) -> list[str]:
    """The lines of one registration (Rich markup): what went where, the line, what it means."""
    colour = _COLOUR[entry.registry]
    head = (
        f"[bold]{entry.index:3}[/]  {escape(entry.owner_label)} ({entry.owner_type})"
        f".[{colour}]{entry.registry}[/]\\['{escape(entry.name)}'] = {escape(entry.summary)}"
    )
    where = f"       {escape(entry.file)}:{entry.line}  [dim]{escape(entry.code)}[/]"
    if entry.via:
        where += f"  (from {escape(entry.via)})"
    lines = [head, where]
    notes = meaning(entry, entries)
    if notes:
        lines.append(f"       [bold]{escape(notes)}[/]")
    return lines


def meaning(entry: Registration, entries: list[Registration]) -> str:
    """What a shared, copied or replacing registration means, in the lesson's words."""

    def name(index: int) -> str:
        earlier = entries[index - 1]
        return f"#{index} ({earlier.owner_label}.{earlier.name})"

    notes = []
    if entry.same_as is not None:
        what = "weight" if entry.kind == "Parameter" else "module"
        notes.append(
            f"the same object as {name(entry.same_as)}: a shared {what}, counted once"
            + (" and stepped once" if entry.kind == "Parameter" else "")
        )
    if entry.equal_to is not None:
        notes.append(
            f"a new object with the same values as {name(entry.equal_to)}: not shared, "
            + (
                "two Parameters on one array (the optimizer steps it twice)"
                if entry.same_array
                else "a copy, counted and trained apart (b.W = a.W shares)"
            )
        )
    if entry.replaces is not None:
        notes.append(f"replaces {name(entry.replaces)} in that slot")
    return "; ".join(notes)


def print_registry(
    demo: str | None, file: Path | None, seed: int, console: Console, errors: Console
) -> int:
    """Build the demo or the file while recording, print the log; 4 if the build failed."""
    np.random.seed(seed)
    random.seed(seed)
    sa.manual_seed(seed)
    try:
        with os_exit_guarded(), recording_registrations() as log:
            experiment = load_demo(demo) if demo is not None else load_experiment_file(file or "")
    except ExperimentError as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return EXIT_USER_ERROR
    entries = log.resolve(experiment.model, experiment.loss)
    source = f"demo {demo}" if demo is not None else str(file)
    console.print(
        f"[bold]The registry log of {escape(source)}[/]: {len(entries)} registrations while "
        "build() ran, in order (Module.__setattr__, register_buffer, add_module)"
    )
    for entry in entries:
        for line in describe(entry, entries):
            console.print(line)
    model = experiment.model
    params = list(model.parameters())
    shared = sum(1 for e in entries if e.kind == "Parameter" and e.same_as is not None)
    buffers = sum(1 for _ in model.buffers())
    console.print(
        f"the model holds {len(params)} Parameters ({shared} shared), "
        f"{model.num_parameters():,} numbers each counted once "
        f"({model.num_parameters(deduplicate=False):,} naive), "
        f"{sum(1 for _ in model.modules())} modules, {buffers} buffers"
    )
    return EXIT_OK
