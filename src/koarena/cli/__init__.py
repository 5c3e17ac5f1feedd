"""The ``koarena`` command: parses arguments and calls one function per command.

Each command lives in its own module here and exposes ``register(subparsers)``; the module adds
its parser and sets ``func`` to a function ``(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from rich.logging import RichHandler
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
from koarena.cli.common import err_console
from koarena.errors import KoarenaError

COMMAND_MODULES = [
    analyze_cmd,
    answer_cmd,
    judge_cmd,
    run_cmd,
    import_batch_cmd,
    fakeserver_cmd,
    data_cmd,
    ensemble_cmd,
    leaderboard_cmd,
    report_cmd,
    serve_cmd,
    translate_cmd,
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="koarena",
        description=(
            "Ko-Arena-Hard-Auto: answer the 500 Korean hard prompts, judge them against the "
            "baseline, and turn the verdicts into a Bradley–Terry leaderboard."
        ),
    )
    parser.add_argument("--version", action="version", version=f"koarena {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``koarena`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, show_time=False)],
    )
    try:
        code: int = args.func(args)
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
