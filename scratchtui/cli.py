"""``scratchtui``: open a demo or a user's experiment file in the debugger, or run it headless.

Exit status: 0 finished, 2 usage error (unknown demo, missing file), 3 training diverged
(headless), 4 the experiment file or a step in it raised. Errors go to stderr.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from scratchai import manual_seed
from scratchai.engine import ExperimentError, Stepper, list_demos, load_demo, load_experiment_file
from scratchai.engine.experiment import demos_dir

from .headless import EXIT_OK, EXIT_USAGE, EXIT_USER_ERROR, run_headless


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scratchtui",
        description="Step through the training of a scratchai model, one batch, phase or layer "
        "at a time.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="open a bundled demo (see --list)")
    demo.add_argument("name", nargs="?", help="demo name, e.g. mlp")
    demo.add_argument("--list", action="store_true", help="list the demos and exit")
    demo.add_argument(
        "--show",
        action="store_true",
        help="print the demo's source (a template: scratchtui demo mlp --show > my_model.py)",
    )
    run = sub.add_parser("run", help="open your own experiment file (defines build())")
    run.add_argument("file", type=Path)
    for command in (demo, run):
        command.add_argument("--headless", action="store_true", help="train in the terminal, no UI")
        command.add_argument(
            "--steps", type=int, help=f"headless: batches to run (default {DEFAULT_STEPS})"
        )
        command.add_argument(
            "--export",
            type=Path,
            metavar="FILE",
            help="headless: write the run's history to FILE (.csv or .json) at the end",
        )
        command.add_argument("--seed", type=int, default=0, help="seed for init, dropout, shuffle")
    return parser


DEFAULT_STEPS = 300


def _version() -> str:
    try:
        return importlib.metadata.version("scratchai")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "(not installed)"


def _has_terminal() -> bool:
    """A terminal to draw on; a web driver (textual-serve) brings its own."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    return sys.stdin.isatty() and sys.stdout.isatty()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # soft_wrap: a path or a traceback line piped to a file or a pager is never cut in two
    console = Console(soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.command == "demo":
        names = [name for name, _ in list_demos()]
        if args.list or args.name not in names:
            if not args.list:
                problem = f"no demo named '{args.name}'" if args.name else "name a demo"
                errors.print(f"[red]error:[/] {escape(problem)}; the demos are:")
            for name, description in list_demos():
                (console if args.list else errors).print(f"[bold]{name:10}[/] {description}")
            return EXIT_OK if args.list else EXIT_USAGE
        if args.show:
            print((demos_dir() / f"{args.name}.py").read_text(encoding="utf-8"), end="")
            return EXIT_OK
    elif not args.file.is_file():
        errors.print(f"[red]error:[/] no such file: {escape(str(args.file))}")
        return EXIT_USAGE
    if not args.headless and (args.steps is not None or args.export is not None):
        errors.print(
            "[red]error:[/] --steps and --export apply to --headless runs; in the app, r runs "
            "and x exports the history"
        )
        return EXIT_USAGE
    steps = DEFAULT_STEPS if args.steps is None else args.steps
    if steps < 1:
        errors.print("[red]error:[/] --steps must be at least 1")
        return EXIT_USAGE
    if not args.headless and not _has_terminal():
        errors.print(
            "[red]error:[/] the debugger needs a terminal (stdin and stdout are not one); "
            "use --headless to train without the UI"
        )
        return EXIT_USAGE
    manual_seed(args.seed)
    try:
        experiment = (
            load_demo(args.name) if args.command == "demo" else load_experiment_file(args.file)
        )
    except ExperimentError as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return EXIT_USER_ERROR
    with Stepper(experiment) as stepper:
        if args.headless:
            status = run_headless(stepper, steps, console, errors)
            if args.export is not None:
                try:
                    console.print(f"history written to {stepper.export(args.export)}")
                except (OSError, ValueError) as error:
                    errors.print(f"[red]error:[/] could not export: {escape(str(error))}")
                    return status or EXIT_USAGE
            return status
        from .app import ScratchApp  # Textual loads only for the interactive app

        model_file = args.file.resolve() if args.command == "run" else None
        ScratchApp(stepper, experiment_file=model_file, seed=args.seed).run()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
