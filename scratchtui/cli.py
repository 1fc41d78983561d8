"""``scratchtui``: open a demo or a user's experiment file in the debugger, run it headless, or
serve the debugger as a web page (``scratchtui serve``).

Exit status: 0 finished, 1 the debugger itself crashed, 2 usage error (unknown demo, missing
file, a bad option: found before anything trains), 3 training diverged (headless), 4 the
experiment file or a step in it raised (headless), 5 a pre-flight check failed (``check``) or,
with ``--strict``, a headless run warned, 130 interrupted (ctrl+c headless, or the debugger
quit while a step would not stop), 129 / 143 the app ended by SIGHUP / SIGTERM (it quits as ``q``
does: the terminal is restored). Errors go to stderr.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import os
import stat
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from scratchai.engine import (
    Breakpoints,
    Experiment,
    ExperimentError,
    Stepper,
    list_demos,
    load_demo,
    load_experiment_file,
)
from scratchai.engine.experiment import demos_dir
from scratchai.engine.stepping.interrupts import Interrupted
from scratchai.engine.timeline.export import check_export_path
from scratchai.engine.timeline.randomness import seed_everything
from scratchai.engine.views import recording_registrations
from scratchai.interop import CHECKPOINT_NAMES, InteropError, torch_key_layout

from .check import ctrl_c_interrupts_checks, run_check
from .exercise.command import add_parser as add_exercise_parser
from .exercise.command import main as exercise_main
from .flow_render import print_flow
from .guard import os_exit_guarded
from .headless import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_STRICT,
    EXIT_USAGE,
    EXIT_USER_ERROR,
    run_headless,
)
from .lifeline import hold_on_to_server
from .registry_log import print_registry
from .serve import DEFAULT_MAX_TABS

#: The distribution's name on PyPI (pyproject's [project] name): "scratchai" there is another
#: project; the import names are scratchai and scratchtui.
DISTRIBUTION = "netarchitect-scratchai"

#: The debugger itself crashed (a bug in scratchtui; Textual prints the traceback).
EXIT_CRASH = 1


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
    check = sub.add_parser(
        "check",
        help="pre-flight checks (loss at init, backward, overfit one batch, baseline, data): "
        "scratchtui check demo NAME, or scratchtui check FILE; exit 5 if one fails",
    )
    check.add_argument("target", nargs="+", metavar="TARGET", help="demo NAME, or FILE")
    check.add_argument("--seed", type=int, default=0, help="seed for init, dropout, shuffle")
    _add_lr(check)
    serve = sub.add_parser(
        "serve",
        help="serve the debugger as a web page: serve demo NAME, or serve FILE "
        "(needs the web extra)",
    )
    serve.add_argument("target", help="'demo' followed by a demo name, or your experiment file")
    serve.add_argument("name", nargs="?", help="the demo's name, after 'demo'")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to listen on (default 127.0.0.1: this machine only; 0.0.0.0 lets "
        "anyone who reaches the port run the model file)",
    )
    serve.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    serve.add_argument(
        "--public-url",
        help="the address learners open, when it differs from http://HOST:PORT "
        "(a proxy, or a bind to 0.0.0.0)",
    )
    serve.add_argument(
        "--max-tabs",
        type=int,
        default=DEFAULT_MAX_TABS,
        help=f"browser tabs served at once, one app process each (default {DEFAULT_MAX_TABS})",
    )
    serve.add_argument(
        "--embed-from",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages from ORIGIN show the debugger in a frame (a notebook: "
        "http://localhost:8888, or http://localhost:* for any port); repeatable; by default "
        "no other page may frame it",
    )
    serve.add_argument(
        "--no-token",
        action="store_true",
        help="serve without the random token in the URL (any local program can then open "
        "a tab: only on a machine you trust)",
    )
    for command in (demo, run, serve):
        if command is not serve:
            command.add_argument(
                "--headless", action="store_true", help="train in the terminal, no UI"
            )
            command.add_argument(
                "--steps", type=int, help=f"headless: batches to run (default {DEFAULT_STEPS})"
            )
            command.add_argument(
                "--export",
                type=Path,
                metavar="FILE",
                help="headless: write the run's history to FILE (.csv or .json) at the end",
            )
            command.add_argument(
                "--no-breakpoints",
                action="store_true",
                help="headless: train all --steps (warnings still print; by default a "
                "divergence or convergence stops the run)",
            )
            command.add_argument(
                "--strict",
                action="store_true",
                help=f"headless: exit {EXIT_STRICT} when a backward check fails or a rule "
                "warns, though training finished (for grading and CI)",
            )
        _add_lr(command)
        command.add_argument("--seed", type=int, default=0, help="seed for init, dropout, shuffle")
        command.add_argument(
            "--checkpoint-names",
            choices=CHECKPOINT_NAMES,
            default="scratchai",
            help="names in the checkpoints the w key saves: scratchai's (0.W, 0.b) or "
            "PyTorch's (0.weight, 0.bias: load them into scratchai.interop.to_torch(model))",
        )
    for command in (demo, run):  # the registry log of build()
        command.add_argument(
            "--registry",
            action="store_true",
            help="print every registration into _parameters, _modules, _buffers made "
            "while build() ran, in order, with its source line, and exit",
        )
    for command in (demo, run):
        command.add_argument(
            "--flow",
            action="store_true",
            help="print the forward pass as a flowchart (formulas, shapes, numbers) after one "
            "batch, and exit",
        )
    add_exercise_parser(sub)  # scratchtui exercise start|check|hint|solution|run
    return parser


DEFAULT_STEPS = 300


def _add_lr(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--lr",
        type=float,
        metavar="LR",
        help="the learning rate to start with, instead of the one the model file sets "
        "(e.g. lower it when a run diverges)",
    )


def _set_lr(experiment: Experiment, lr: float | None, errors: Console) -> bool:
    """Apply ``--lr`` to the experiment's optimizer; False (said on ``errors``) if refused."""
    if lr is None:
        return True
    try:
        experiment.optimizer.lr = lr
    except (TypeError, ValueError, AttributeError) as error:
        errors.print(f"[red]error:[/] --lr {lr:g}: {escape(str(error))}")
        return False
    return True


def _usage_problem(args: argparse.Namespace) -> str:
    """What is wrong with the options themselves ('' if nothing), found before any model is
    built or trained: a run never fails at its end over something known at its start."""
    lr = getattr(args, "lr", None)
    if lr is not None and not (math.isfinite(lr) and lr >= 0):
        return f"--lr must be a finite number >= 0, got {lr:g}"
    export = getattr(args, "export", None)
    if export is not None:
        try:
            check_export_path(export)
        except ValueError as error:
            return f"--export {escape(str(export))}: {escape(str(error))}"
        if export.is_dir():
            return f"--export {escape(str(export))} is a directory; name a .csv or .json file"
    return ""


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "(not installed)"


def _has_terminal() -> bool:
    """A terminal to draw on; a web driver (textual-serve) brings its own."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return True
    return sys.stdin.isatty() and sys.stdout.isatty()


def _serve(args: argparse.Namespace, errors: Console) -> int:
    """``scratchtui serve demo NAME`` / ``scratchtui serve FILE``: check the target, then serve."""
    from .serve import app_command, check_frame_origin, public_url, serve

    demo, file = (args.name, None) if args.target == "demo" else (None, Path(args.target))
    if demo is not None and demo not in [name for name, _ in list_demos()]:
        errors.print(f"[red]error:[/] no demo named '{escape(demo)}'; see scratchtui demo --list")
        return EXIT_USAGE
    if args.target == "demo" and demo is None:
        errors.print("[red]error:[/] name a demo: scratchtui serve demo mlp")
        return EXIT_USAGE
    if file is not None:
        if args.name is not None:
            errors.print("[red]error:[/] serve takes one file (or: serve demo NAME)")
            return EXIT_USAGE
        if not file.is_file():
            errors.print(f"[red]error:[/] {_not_a_file(file)}")
            return EXIT_USAGE
    try:  # a broken file fails here once, not in every tab that opens the page
        experiment = load_demo(demo) if demo else load_experiment_file(Path(args.target))
        if not _set_lr(experiment, args.lr, errors):
            return EXIT_USAGE
        if args.checkpoint_names == "torch":
            torch_key_layout(experiment.model)
    except ExperimentError as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return EXIT_USER_ERROR
    except InteropError as error:
        errors.print(f"[red]error:[/] --checkpoint-names torch: {escape(str(error))}")
        return EXIT_USAGE
    if not 0 < args.port < 65536:
        errors.print("[red]error:[/] --port must be in 1-65535")
        return EXIT_USAGE
    if args.max_tabs < 1:
        errors.print("[red]error:[/] --max-tabs must be at least 1")
        return EXIT_USAGE
    try:
        frame_ancestors = tuple(check_frame_origin(origin) for origin in args.embed_from)
    except ValueError as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        return EXIT_USAGE
    command = app_command(demo, file, args.seed, args.checkpoint_names, args.lr)
    title = f"ScratchAI: demo {demo}" if demo is not None else f"ScratchAI: {args.target}"
    url = public_url(args.host, args.port, args.public_url)
    public = args.public_url.rstrip("/") if args.public_url else None
    return serve(
        command,
        title,
        args.host,
        args.port,
        url,
        errors,
        public=public,
        max_tabs=args.max_tabs,
        token=not args.no_token,
        frame_ancestors=frame_ancestors,
    )


def main(argv: list[str] | None = None) -> int:
    hold_on_to_server()  # a served tab: end with the server, however it ends
    args = _parser().parse_args(argv)
    # soft_wrap: a path or a traceback line piped to a file or a pager is never cut in two
    console = Console(soft_wrap=True)
    errors = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.command == "exercise":
        return exercise_main(args, console, errors)
    problem = _usage_problem(args)
    if problem:
        errors.print(f"[red]error:[/] {problem}")
        return EXIT_USAGE
    if args.command == "check":
        return _check(args.target, args.seed, console, errors, args.lr)
    if args.command == "serve":
        return _serve(args, errors)
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
        errors.print(f"[red]error:[/] {_not_a_file(args.file)}")
        return EXIT_USAGE
    if args.registry:  # the registrations of build(), printed, then exit
        demo = args.name if args.command == "demo" else None
        file = args.file if args.command == "run" else None
        return print_registry(demo, file, args.seed, console, errors)
    if not args.headless and (
        args.steps is not None or args.export is not None or args.no_breakpoints or args.strict
    ):
        errors.print(
            "[red]error:[/] --steps, --export, --no-breakpoints and --strict apply to "
            "--headless runs; in the app, r runs, x exports the history and k sets the "
            "breakpoints"
        )
        return EXIT_USAGE
    steps = DEFAULT_STEPS if args.steps is None else args.steps
    if steps < 1:
        errors.print("[red]error:[/] --steps must be at least 1")
        return EXIT_USAGE
    if not args.headless and not args.flow and not _has_terminal():
        errors.print(
            "[red]error:[/] the debugger needs a terminal (stdin and stdout are not one); "
            "use --headless to train without the UI"
        )
        return EXIT_USAGE
    seed_everything(args.seed)
    try:
        # an os._exit in the file is reported like a sys.exit; the registrations of build()
        # are kept for the registry view (a)
        with os_exit_guarded(), recording_registrations() as registrations:
            experiment = (
                load_demo(args.name) if args.command == "demo" else load_experiment_file(args.file)
            )
    except ExperimentError as error:
        errors.print(f"[red]error:[/] {escape(str(error))}")
        if os.environ.get("TEXTUAL_DRIVER") and not args.headless and not args.flow:
            from .load_error import LoadErrorApp  # a served tab: say it in the page

            LoadErrorApp(str(error)).run()
        return EXIT_USER_ERROR
    registrations.keep(experiment.model, experiment.loss)
    file_lr = float(getattr(experiment.optimizer, "lr", 0.0))
    if not _set_lr(experiment, args.lr, errors):
        return EXIT_USAGE
    try:
        stepper = Stepper(experiment, checkpoint_names=args.checkpoint_names)
    except InteropError as error:
        errors.print(f"[red]error:[/] --checkpoint-names torch: {escape(str(error))}")
        return EXIT_USAGE
    with stepper:
        if args.flow:
            with os_exit_guarded():  # an os._exit in a step is a failed step, reported
                return print_flow(stepper, console, errors)
        if args.headless:
            if args.no_breakpoints:
                stepper.breakpoints = Breakpoints.none()
            with os_exit_guarded():
                status = run_headless(stepper, steps, console, errors, strict=args.strict)
            if args.export is not None:
                try:
                    written = stepper.views.export(args.export)
                    console.print(f"history written to {escape(str(written))}", highlight=False)
                except (OSError, ValueError) as error:
                    errors.print(f"[red]error:[/] could not export: {escape(str(error))}")
                    return status or EXIT_USAGE
            return status
        model_file = args.file.resolve() if args.command == "run" else None
        return _run_app(stepper, errors, model_file, args.seed, file_lr)


def _check(
    target: list[str], seed: int, console: Console, errors: Console, lr: float | None = None
) -> int:
    """``check demo NAME`` or ``check FILE``: the recipe's checks on the experiment."""
    demo = target[0] == "demo"
    if (demo and len(target) != 2) or (not demo and len(target) != 1):
        errors.print("[red]error:[/] usage: scratchtui check demo NAME | scratchtui check FILE")
        return EXIT_USAGE
    if demo and target[1] not in [name for name, _ in list_demos()]:
        names = ", ".join(name for name, _ in list_demos())
        errors.print(f"[red]error:[/] no demo named '{escape(target[1])}'; the demos are: {names}")
        return EXIT_USAGE
    if not demo and not Path(target[0]).is_file():
        errors.print(f"[red]error:[/] {_not_a_file(Path(target[0]))}")
        return EXIT_USAGE
    seed_everything(seed)
    with os_exit_guarded():  # the file and its model run here: os._exit is reported too
        try:
            experiment = load_demo(target[1]) if demo else load_experiment_file(target[0])
        except ExperimentError as error:
            errors.print(f"[red]error:[/] {escape(str(error))}")
            return EXIT_USER_ERROR
        if not _set_lr(experiment, lr, errors):
            return EXIT_USAGE
        try:
            with ctrl_c_interrupts_checks():
                return run_check(experiment, console)
        except Interrupted:
            errors.print("[yellow]interrupted[/]: the checks stopped (they ran on copies)")
            return EXIT_INTERRUPTED


def _not_a_file(path: Path) -> str:
    """Why a model file argument cannot be read, for an error line (markup escaped)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return f"no such file: {escape(str(path))}"
    except OSError as error:
        return f"cannot read {escape(str(path))}: {escape(error.strerror or str(error))}"
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((name for test, name in kinds if test(mode)), "not a regular file")
    return f"{escape(str(path))} is {kind}, not a model file"


def _run_app(
    stepper: Stepper,
    errors: Console,
    model_file: Path | None = None,
    seed: int = 0,
    file_lr: float | None = None,
) -> int:
    """Run the debugger; its exit status (0, or 1 if the app itself crashed: never 0 then;
    143 / 129 when SIGTERM / SIGHUP ended it).

    ``model_file``: what the reload key re-imports (None for a demo), built with ``seed``.
    ``file_lr``: the lr the file set (``--lr`` may have replaced it: a reload then keeps
    ``--lr`` as it keeps an lr set in the app).
    """
    from .app import ScratchApp  # Textual loads only for the interactive app
    from .guard import REAL_OS_EXIT
    from .signals import quit_on_signals

    app = ScratchApp(stepper, experiment_file=model_file, seed=seed)
    if file_lr is not None:
        app.session.file_lr = file_lr
    with quit_on_signals(app) as received:  # SIGTERM, SIGHUP: quit as q does
        app.run()  # the driver restores the terminal on every way out, a crash included
    status = EXIT_OK if not app.return_code else EXIT_CRASH
    status = received.exit_status or status
    if not app.trainer.wait_idle(0):
        # A step stuck where an interrupt cannot reach (a long C call): closing the stepper
        # would wait for it. The terminal is restored already; leave without it.
        errors.print("a step was still running when the debugger closed: exiting without it")
        sys.stdout.flush()
        sys.stderr.flush()
        REAL_OS_EXIT(status or EXIT_INTERRUPTED)
    return status


if __name__ == "__main__":
    sys.exit(main())
