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
from koarena.cli.commands import COMMANDS, command_help, command_module
from koarena.cli.common import ArgumentParser, OutputClosed, err_console, setup_logging
from koarena.errors import KoarenaError


def requested_command(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the first word that is not an option), if any."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with ``only``, that command's options are the only ones built
    (the other commands are listed with their help line), so that a command imports only the
    modules it needs (`koarena.cli.commands`)."""
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
    for name in COMMANDS:
        if only is None or only == name:
            command_module(name).register(sub)
        else:
            sub.add_parser(name, help=command_help(name))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``koarena`` console script."""
    try:
        words = sys.argv[1:] if argv is None else argv
        args = build_parser(only=requested_command(words) or "").parse_args(words)
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
