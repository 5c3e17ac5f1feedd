"""Options shared by several commands."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
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

from koarena.batch.apis import BatchApi, BatchState
from koarena.batch.files import FileBatch
from koarena.batch.options import BatchOptions
from koarena.bench import DEFAULT_BENCH, Bench, resolve_data_dir
from koarena.config import ModelEndpoint
from koarena.runner.pool import RetryPolicy

# Piped output is read by people too (CI logs, files): do not squeeze tables to 80 columns.
console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)


def add_data_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="data directory in the arena-hard layout (default: $KOARENA_DATA_DIR, else ./data)",
    )


def add_bench_options(p: argparse.ArgumentParser, *aliases: str) -> None:
    """``--data-dir`` and ``--bench`` (alias ``--bench-name`` and any ``aliases``)."""
    add_data_dir_option(p)
    p.add_argument(
        "--bench",
        "--bench-name",
        *aliases,
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


def add_batch_options(p: argparse.ArgumentParser) -> None:
    """``--batch``, ``--poll-interval`` and ``--batch-retry`` of the commands that call APIs."""
    p.add_argument(
        "--batch",
        action="store_true",
        help="send every model's requests through its provider's batch API (half price, "
             "results within 24 h; endpoints with 'batch: true' use it anyway); a killed run "
             "resumes polling its batches",
    )
    p.add_argument("--poll-interval", type=float, default=30.0,
                   help="seconds between batch status polls (default: 30)")
    p.add_argument("--batch-retry", choices=["batch", "online"], default="batch",
                   help="where failed and expired batch items are retried (default: batch)")
    p.add_argument("--batch-file", type=Path, metavar="IN.jsonl",
                   help="write the requests as an OpenAI batch input file instead of sending "
                        "them (e.g. for 'vllm run-batch -i IN.jsonl -o OUT.jsonl'); their "
                        "tasks wait for --import-batch")
    p.add_argument("--import-batch", dest="import_batch", type=Path, nargs="+",
                   metavar="OUT.jsonl",
                   help="read the results of batch files written with --batch-file and write "
                        "their records (with --batch-file, the next round's requests go there)")


def batch_options(args: argparse.Namespace) -> BatchOptions:
    """The batch settings of the command line; batch status goes to stderr."""

    def status(model: str, batch_id: str, state: BatchState, elapsed: float) -> None:
        minutes, seconds = divmod(int(elapsed), 60)
        err_console.print(f"batch {batch_id} ({model}): {state.status} {state.done}/"
                          f"{state.total}, {minutes // 60}:{minutes % 60:02d}:{seconds:02d}",
                          highlight=False, markup=False)

    if args.batch_file is not None or args.import_batch:
        write_to, imported = args.batch_file, list(args.import_batch or [])

        def files(cfg: ModelEndpoint) -> BatchApi:
            return FileBatch(cfg, write_to, imported)

        return BatchOptions(all_models=True, poll_interval=0.0, factory=files)
    return BatchOptions(all_models=args.batch, poll_interval=max(0.0, args.poll_interval),
                        retry_online=args.batch_retry == "online", on_status=status)


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
