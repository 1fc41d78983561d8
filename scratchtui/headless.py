"""The headless run: the same stepper as the app, printed with Rich instead of drawn by Textual."""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from scratchai.engine import RuleWarning, Severity, State, StepFailed, StepInterrupted, Stepper

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_DIVERGED = 3
EXIT_USER_ERROR = 4
#: ``--strict``: training finished, but a backward check failed or a rule warned (the status of
#: a failed pre-flight check: the setup has a problem to look at).
EXIT_STRICT = 5
EXIT_INTERRUPTED = 130  # the shell's convention for ctrl+c (128 + SIGINT)

_CHUNK = 25  # steps between loss and accuracy refreshes (the step count follows every step)


#: How a headless run carries out a remedy the debugger has a key for: the next run's option.
HEADLESS_ACTIONS = {"lower_lr": "run again with a lower --lr"}


def _headless_remedy(remedy: str) -> str:
    how = HEADLESS_ACTIONS.get(getattr(remedy, "action", None) or "")
    return f"{remedy} ({how})" if how else str(remedy)


def format_warning(warning: RuleWarning) -> str:
    colour = {Severity.DIVERGED: "red", Severity.WARNING: "yellow"}.get(warning.severity, "green")
    remedies = "; ".join(_headless_remedy(r) for r in warning.remedies)
    return (
        f"[{colour}]{warning.severity.value}[/] at step {warning.step}: {warning.message}\n"
        f"  {warning.diagnosis}\n  remedy: {remedies}"
    )


def _number(value: float | None, spec: str = ".3g") -> str:
    if value is None:
        return "-"
    return format(value, spec) if math.isfinite(value) else str(value)


def layer_table(stepper: Stepper) -> Table:
    """Per module in forward order: path, type, output shape, params, sharing, grad, update.

    Nothing is cut at any width: a path stays on one line (the other columns give way first)
    and every other cell and header wraps, folding inside a word if it must.
    """
    # Text, not markup: a name is the user's text (markup in it, any length: linear)
    table = Table(title=Text(f"{stepper.experiment.name}: layers after step {stepper.step}"))
    for column in ("path", "type", "output", "params", "shared with", "grad norm", "update:data"):
        table.add_column(
            column,
            justify="right" if column in ("params", "grad norm") else "left",
            no_wrap=column == "path",
            overflow="fold",
        )
    infos = {info.path: info for info in stepper.structure()}
    record = stepper.last_step
    for probe in record.modules if record else ():
        info = infos.get(probe.path)
        own = sum(p.size for p in info.params) if info else 0
        shared = ", ".join(
            f"{p.name}<->{'/'.join(o for o in p.owners if o != p.path)}"
            for p in (info.params if info else ())
            if p.shared
        )
        table.add_row(
            probe.path or "<model>",
            probe.type_name,
            "x".join(str(d) for d in probe.output_shape),
            f"{own:,}",
            shared or "-",
            _number(probe.grad_norm),
            _number(probe.update_ratio, ".2e"),
        )
    return table


def run_headless(
    stepper: Stepper,
    steps: int,
    console: Console | None = None,
    errors: Console | None = None,
    *,
    strict: bool = False,
) -> int:
    """Train up to ``steps`` batches (fewer if a breakpoint fires); returns the exit status.

    ``strict``: a run that would end with 0 ends with ``EXIT_STRICT`` when a backward check
    failed or a rule warned (a warning or a divergence; info and convergence are not
    problems). A divergence, a failed step or an interrupt keep their own statuses.
    """
    console = console or Console()
    errors = errors or Console(stderr=True, highlight=False, soft_wrap=True)
    dedup, naive = stepper.num_parameters
    sharing = f" ({naive:,} if each owner of a shared weight counted it)" if naive > dedup else ""
    console.print(
        Text.assemble(
            (stepper.experiment.name, "bold"),
            f": {stepper.experiment.description}\nparameters: {dedup:,}{sharing}",
        ),
        soft_wrap=True,
    )
    progress = Progress(
        TextColumn("[bold]training"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}  batch acc {task.fields[acc]}  lr {task.fields[lr]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    try:
        with _ctrl_c_interrupts(stepper) as ctrl_c:
            status, problems = _train(stepper, steps, console, errors, progress, ctrl_c)
    except (KeyboardInterrupt, StepInterrupted):
        # ctrl+c between two steps, or inside one (undone): either way the model is at a step
        progress.stop()
        errors.print(
            f"[yellow]interrupted[/]: training stopped at step {stepper.step}, its last "
            "complete step (a step in progress was undone)",
            soft_wrap=True,
        )
        return EXIT_INTERRUPTED
    if strict and status == EXIT_OK and problems:
        errors.print(
            f"[red]--strict[/]: {len(problems)} warning(s) ({', '.join(sorted(set(problems)))}): "
            f"exit {EXIT_STRICT}",
            soft_wrap=True,
        )
        return EXIT_STRICT
    return status


#: What ``--strict`` counts as a problem: a rule's warning or a divergence (a failed backward
#: check is a warning of the rule ``backward_check``); info and convergence are not.
STRICT_SEVERITIES = (Severity.WARNING, Severity.DIVERGED)


class _CtrlC:
    """Whether ctrl+c was pressed between two steps (the run stops at the next boundary)."""

    pressed = False


@contextmanager
def _ctrl_c_interrupts(stepper: Stepper) -> Iterator[_CtrlC]:
    """A ctrl+c interrupts the step in progress, as the app's ``i`` does (it is undone); the
    user's code raising ``KeyboardInterrupt`` itself is a failed step, not an interrupt.

    The handler raises nothing itself: it may run between any two lines of the stepper."""
    ctrl_c = _CtrlC()

    def on_ctrl_c(signum: int, frame: object) -> None:
        if not stepper.interrupt():  # between two steps: stop before the next one
            ctrl_c.pressed = True

    if threading.current_thread() is not threading.main_thread():
        yield ctrl_c  # signals reach the main thread only
        return
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield ctrl_c
    finally:
        signal.signal(signal.SIGINT, previous)


def _train(
    stepper: Stepper,
    steps: int,
    console: Console,
    errors: Console,
    progress: Progress,
    ctrl_c: _CtrlC,
) -> tuple[int, list[str]]:
    """Train; returns the exit status and the rules of the problems warned (``--strict``)."""
    stopped_by: tuple[str, ...] = ()
    problems: list[str] = []
    with progress:
        task = progress.add_task("train", total=steps, loss="-", acc="-", lr=f"{stepper.lr:g}")
        start = stepper.step

        def count_step() -> bool:  # between two batches: the bar never lags a slow step
            progress.update(task, completed=stepper.step - start)
            return ctrl_c.pressed

        while stepper.step - start < steps and not stopped_by:
            if ctrl_c.pressed:
                raise KeyboardInterrupt
            try:
                chunk = min(_CHUNK, steps - (stepper.step - start))
                advance = stepper.run(max_steps=chunk, should_stop=count_step)
            except StepInterrupted:
                raise
            except StepFailed as failure:
                progress.update(task, completed=stepper.step - start)
                progress.stop()
                errors.print(
                    f"[red]step {stepper.step + 1} failed during {escape(failure.place)}[/]: "
                    f"{escape(failure.summary)}; training was left at step {stepper.step}:",
                    soft_wrap=True,
                )
                errors.print(failure.traceback_text, markup=False)
                return EXIT_USER_ERROR, problems
            for warning in advance.warnings:
                progress.console.print(format_warning(warning), soft_wrap=True)
                if warning.severity in STRICT_SEVERITIES:
                    problems.append(warning.rule)
            for epoch in advance.epochs:
                if epoch.val_loss is not None:
                    acc = "-" if epoch.val_accuracy is None else f"{epoch.val_accuracy:.1%}"
                    progress.console.print(  # epochs are counted from 1 for people
                        f"epoch {epoch.epoch + 1}: val loss {epoch.val_loss:.4f}, val acc {acc}"
                    )
            last = stepper.last_step
            if last is not None:
                progress.update(
                    task,
                    completed=stepper.step - start,
                    loss=_number(last.loss, ".4g"),
                    acc="-" if last.accuracy is None else f"{last.accuracy:.0%}",
                    lr=f"{stepper.lr:g}",
                )
            stopped_by = advance.stopped_by
    console.print(layer_table(stepper))
    if stopped_by:
        console.print("[bold]stopped:[/] " + "; ".join(stopped_by))
    console.print(f"state: [bold]{stepper.state.value}[/] after {stepper.step} steps")
    return (EXIT_DIVERGED if stepper.state is State.DIVERGED else EXIT_OK), problems
