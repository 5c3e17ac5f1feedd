"""Options shared by several commands."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from koarena.bench import DEFAULT_BENCH, Bench, resolve_data_dir
from koarena.runner.pool import RetryPolicy

# Piped output is read by people too (CI logs, files): do not squeeze tables to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def add_data_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="data directory in the arena-hard layout (default: $KOARENA_DATA_DIR, else ./data)",
    )


def add_bench_options(p: argparse.ArgumentParser) -> None:
    """``--data-dir`` and ``--bench`` (alias ``--bench-name``)."""
    add_data_dir_option(p)
    p.add_argument(
        "--bench",
        "--bench-name",
        dest="bench",
        default=DEFAULT_BENCH,
        help=f"benchmark name inside the data directory (default: {DEFAULT_BENCH})",
    )


def add_retry_options(p: argparse.ArgumentParser) -> None:
    """``--attempts`` and ``--retry-base`` of the commands that call model APIs."""
    p.add_argument(
        "--attempts",
        type=int,
        default=6,
        help="tries per request for rate limits, 5xx and timeouts (default: 6)",
    )
    p.add_argument(
        "--retry-base",
        type=float,
        default=1.0,
        help="first backoff delay in seconds, doubled per retry (default: 1)",
    )


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    return RetryPolicy(attempts=max(1, args.attempts), base=args.retry_base)


def bench_from_args(args: argparse.Namespace) -> Bench:
    return Bench(resolve_data_dir(args.data_dir), args.bench)


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields ``update(done, total)``."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    with progress:
        yield update


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C for the duration: raise `KeyboardInterrupt`, so that
    ``finally`` blocks and temporary directories clean up (SIGTERM's default action ends the
    process on the spot and leaves them behind)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
