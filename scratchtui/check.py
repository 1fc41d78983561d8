"""``scratchtui check``: the recipe's pre-flight checklist, printed line by line as it runs."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from scratchai.engine import Experiment
from scratchai.engine.checks import CheckResult, run_checklist
from scratchai.engine.stepping.interrupts import Interrupted

EXIT_CHECK_FAILED = 5  # 1 is a crash of the debugger itself


def print_result(console: Console, result: CheckResult) -> None:
    mark = "[green]pass[/]" if result.passed else "[red]FAIL[/]"
    console.print(
        f"[{mark}] [bold]{escape(result.name)}[/]: {escape(result.measured)} "
        f"[dim]({result.seconds:.2f} s)[/]",
        soft_wrap=True,
    )
    if result.fix:
        console.print(f"       [yellow]fix:[/] {escape(result.fix)}", soft_wrap=True)


def run_check(experiment: Experiment, console: Console) -> int:
    """Run the checklist on copies of ``experiment``; 0 when every check passed, else 1."""
    console.print(  # Text, not markup: the name is the user's text, of any length
        Text.assemble(
            (experiment.name, "bold"),
            ": pre-flight checks (on copies: training is not touched)",
        ),
        soft_wrap=True,
    )
    start = time.perf_counter()
    checklist = run_checklist(experiment, on_result=lambda r: print_result(console, r))
    failed = [r.name for r in checklist.results if not r.passed]
    took = time.perf_counter() - start
    if failed:
        console.print(f"[red]{len(failed)} check(s) failed:[/] {', '.join(failed)} ({took:.2f} s)")
        return EXIT_CHECK_FAILED
    console.print(f"[green]all {len(checklist.results)} checks passed[/] ({took:.2f} s)")
    return 0


@contextmanager
def ctrl_c_interrupts_checks() -> Iterator[None]:
    """A ctrl+c stops the checks as an ``Interrupted``: a ``KeyboardInterrupt`` that the user's
    code raises itself is that check's failure, and the next check runs."""

    def on_ctrl_c(signum: int, frame: object) -> None:
        raise Interrupted

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
