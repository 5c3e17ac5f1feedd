"""The ``koarena`` command: parses arguments and calls one function per command.

Each command lives in its own module here and exposes ``register(subparsers)``; the module adds
its parser and sets ``func`` to a function ``(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rich.markup import escape

from koarena import __version__
from koarena.cli import (
    analyze_cmd,
    answer_cmd,
    data_cmd,
    ensemble_cmd,
    fakeserver_cmd,
    import_batch_cmd,
    judge_cmd,
    leaderboard_cmd,
    report_cmd,
    run_cmd,
    serve_cmd,
    translate_cmd,
)
from koarena.cli.common import ArgumentParser, OutputClosed, err_console, setup_logging
from koarena.errors import KoarenaError

COMMAND_MODULES = [
    data_cmd,
    translate_cmd,
    answer_cmd,
    judge_cmd,
    import_batch_cmd,
    ensemble_cmd,
    leaderboard_cmd,
    run_cmd,
    report_cmd,
    serve_cmd,
    analyze_cmd,
    fakeserver_cmd,
]
"""In pipeline order, as ``koarena --help`` lists them: get (or translate) the data, answer,
judge (or import a batch's results), ensemble, rank (``run`` does those for one model), publish,
analyse; the fake server last."""


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="koarena",
        description=(
            "Ko-Arena-Hard-Auto: answer the 500 Korean hard prompts, judge them against the "
            "baseline, and turn the verdicts into a Bradley–Terry leaderboard."
        ),
    )
    parser.add_argument("--version", action="version", version=f"koarena {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``koarena`` console script."""
    try:
        args = build_parser().parse_args(argv)
        setup_logging(args.verbose)
        code: int = args.func(args)
    except OutputClosed:
        return 0  # the reader closed the pipe (`koarena leaderboard | head -1`): stop quietly
    except BrokenPipeError:
        # The same for output that did not go through a console (argparse's help). stdout goes
        # to /dev/null so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KoarenaError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]")
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
