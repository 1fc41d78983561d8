"""``scratchtui exercise start|check|hint|solution|run``: the lesson as graded exercises.

Exit status: 0 every selected test passes (or the command did its job), 6 a test fails or an
exercise is not started, 4 the learner's file does not import, 2 usage error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from .catalog import all_exercises
from .grader import FAIL, NOT_STARTED, PASS, LearnerImportError, Outcome, grade, load_learner
from .sources import solution_source, stub_source
from .workspace import exercises_markdown

EXIT_OK, EXIT_USAGE, EXIT_IMPORT, EXIT_FAILED = 0, 2, 4, 6
DEFAULT_DIR = Path("net-architect")
LEARNER_FILE = "mynn.py"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``exercise`` subcommand and its five actions."""
    exercise = sub.add_parser(
        "exercise",
        help="build it yourself: the lesson as graded exercises (start, check, hint, solution, "
        "run)",
    )
    actions = exercise.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="write the workspace: mynn.py and EXERCISES.md")
    start.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    check = actions.add_parser(
        "check", help="grade exercise N (every exercise without N) of FILE (default mynn.py)"
    )
    check.add_argument("target", nargs="*", metavar="[N] [FILE]")
    for name, text in (("hint", "a hint for exercise N"), ("solution", "the reference for N")):
        action = actions.add_parser(name, help=text)
        action.add_argument("number", type=int, metavar="N")
    run = actions.add_parser(
        "run", help="the lesson's MLP from your Linear, ReLU, CrossEntropyLoss in the debugger"
    )
    run.add_argument("file", nargs="?", type=Path, default=Path(LEARNER_FILE))
    run.add_argument("--headless", action="store_true", help="train in the terminal, no UI")
    run.add_argument("--steps", type=int, default=300, help="headless: batches to run")
    run.add_argument("--flow", action="store_true", help="print the flow after one batch")
    run.add_argument("--seed", type=int, default=0, help="seed for init, dropout, shuffle")


def main(args: argparse.Namespace, console: Console, errors: Console) -> int:
    if args.action == "start":
        return start(args.dir, console, errors)
    if args.action == "run":
        return run(args, console, errors)
    if args.action == "check":
        return check(args.target, console, errors)
    if args.number not in all_exercises():
        errors.print(f"[red]error:[/] the exercises are 1-{len(all_exercises())}")
        return EXIT_USAGE
    if args.action == "hint":
        ex = all_exercises()[args.number]
        console.print(f"[bold]exercise {ex.number}: {escape(ex.title)}[/]\n{escape(ex.hint)}")
    else:
        print(solution_source(args.number), end="")
    return EXIT_OK


def start(folder: Path, console: Console, errors: Console) -> int:
    files = {LEARNER_FILE: stub_source(), "EXERCISES.md": exercises_markdown()}
    taken = [name for name in files if (folder / name).exists()]
    if taken:
        errors.print(
            f"[red]error:[/] {escape(str(folder / taken[0]))} exists: exercise start never "
            "overwrites your work; choose another folder (scratchtui exercise start DIR)"
        )
        return EXIT_USAGE
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    console.print(
        f"wrote {escape(str(folder / LEARNER_FILE))} (your file: 9 exercises of stubs) and "
        f"EXERCISES.md\nnext: cd {escape(str(folder))} && scratchtui exercise check 1"
    )
    return EXIT_OK


def _check_target(target: list[str]) -> tuple[int | None, Path] | str:
    """``[N] [FILE]`` -> (N or None, FILE), or what is wrong with it."""
    number: int | None = None
    rest = list(target)
    if rest and rest[0].isdigit():
        number = int(rest.pop(0))
        if number not in all_exercises():
            return f"the exercises are 1-{len(all_exercises())}, not {number}"
    if len(rest) > 1:
        return "usage: scratchtui exercise check [N] [FILE]"
    return number, Path(rest[0]) if rest else Path(LEARNER_FILE)


def _loaded(file: Path, errors: Console) -> object | int:
    if not file.is_file():
        errors.print(
            f"[red]error:[/] no such file: {escape(str(file))} "
            "(scratchtui exercise start writes mynn.py; or pass your file)"
        )
        return EXIT_USAGE
    try:
        return load_learner(file)
    except LearnerImportError as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return EXIT_IMPORT


_MARK = {PASS: "[green]ok  [/]", FAIL: "[red]FAIL[/]", NOT_STARTED: "[yellow]todo[/]"}


def check(target: list[str], console: Console, errors: Console) -> int:
    parsed = _check_target(target)
    if isinstance(parsed, str):
        errors.print(f"[red]error:[/] {escape(parsed)}")
        return EXIT_USAGE
    number, file = parsed
    learner = _loaded(file, errors)
    if isinstance(learner, int):
        return learner
    chosen = [number] if number is not None else list(all_exercises())
    results: dict[int, list[Outcome]] = {}
    for n in chosen:
        ex = all_exercises()[n]
        outcomes = results[n] = grade(ex, learner)  # type: ignore[arg-type]
        console.print(f"[bold]exercise {n}[/]  {escape(ex.title)}")
        if outcomes[0].status == NOT_STARTED and outcomes[0].label == ex.title:
            console.print(f"  {_MARK[NOT_STARTED]}  not started (its stubs still raise)")
            continue
        for outcome in outcomes:
            line = f"  {_MARK[outcome.status]}  {escape(outcome.label)}"
            if outcome.status != PASS:
                line += f"\n        {escape(outcome.message)}"
            console.print(line)
    console.print(_summary(results))
    failed = any(o.status != PASS for outcomes in results.values() for o in outcomes)
    return EXIT_FAILED if failed else EXIT_OK


def _summary(results: dict[int, list[Outcome]]) -> str:
    done = [n for n, outcomes in results.items() if all(o.status == PASS for o in outcomes)]
    if len(results) == 1:
        (n, outcomes), *_ = results.items()
        passed = sum(o.status == PASS for o in outcomes)
        if n in done:
            return f"exercise {n}: all {passed} tests pass"
        return (
            f"exercise {n}: {passed} of {len(outcomes)} tests pass; "
            f"stuck? scratchtui exercise hint {n}"
        )
    todo = [n for n in results if n not in done]
    if not todo:
        return f"all {len(results)} exercises pass: try scratchtui exercise run"
    return (
        f"{len(done)} of {len(results)} exercises pass; next: exercise {todo[0]} "
        f"(scratchtui exercise check {todo[0]}, stuck? scratchtui exercise hint {todo[0]})"
    )


def run(args: argparse.Namespace, console: Console, errors: Console) -> int:
    """The lesson's MLP from the learner's layers, in the debugger (or headless, or its flow)."""
    from scratchai.engine import Stepper
    from scratchai.engine.views import recording_registrations

    from ..flow_render import print_flow
    from ..guard import os_exit_guarded
    from ..headless import run_headless
    from .bridge import lesson_mlp

    learner = _loaded(args.file, errors)
    if isinstance(learner, int):
        return learner
    import random

    import numpy as np

    import scratchai as sa

    np.random.seed(args.seed)  # the learner's init draws from np.random
    random.seed(args.seed)
    sa.manual_seed(args.seed)
    try:
        with recording_registrations() as registrations:  # for the registry view (a)
            experiment = lesson_mlp(learner, args.seed)  # type: ignore[arg-type]
    except Exception as error:
        errors.print(
            f"[red]error:[/] building the lesson's MLP from {escape(str(args.file))} raised "
            f"{type(error).__name__}: {escape(str(error))}; scratchtui exercise check 6 and 7 "
            "say what to fix"
        )
        return EXIT_IMPORT
    registrations.keep(experiment.model, experiment.loss)
    with Stepper(experiment) as stepper, os_exit_guarded():
        if args.flow:
            return print_flow(stepper, console, errors)
        if args.headless:
            return run_headless(stepper, args.steps, console, errors)
        from ..cli import _has_terminal, _run_app

        if not _has_terminal():
            errors.print("[red]error:[/] the debugger needs a terminal; use --headless")
            return EXIT_USAGE
        return _run_app(stepper, errors, None, args.seed)
