"""Options shared by several commands, and where all command output goes (the consoles)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any, TextIO, cast

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from koarena.bench import DEFAULT_BENCH, Bench, resolve_data_dir

PLAIN_WIDTH = 100_000
"""Console width when the output is not a terminal: wider than any line, so nothing wraps."""


class OutputClosed(Exception):
    """The reader of our output went away (``koarena leaderboard | head -1``)."""


class _TrimmedLines:
    """A text stream that drops the spaces rich pads lines with (tables, titles) at line ends.

    It looks up ``sys.stdout``/``sys.stderr`` at each write, so that output captured by a caller
    that swaps them (pytest's capsys) is still caught.
    """

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._held = ""  # trailing spaces of an unfinished line: dropped if a newline follows

    @property
    def _stream(self) -> TextIO:
        return sys.stderr if self._stderr else sys.stdout

    def write(self, text: str) -> int:
        *lines, last = (self._held + text).split("\n")
        body = "".join(line.rstrip(" ") + "\n" for line in lines)
        kept = last.rstrip(" ")
        self._held = last[len(kept):]
        self._stream.write(body + kept)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()


class _Console(Console):
    def on_broken_pipe(self) -> None:
        # rich's own handler exits with 1; a closed pipe is the reader's choice, not an error.
        self.quiet = True
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.file.fileno())
        raise OutputClosed


def make_console(stderr: bool = False) -> Console:
    """A console for stdout (or stderr): rich as usual on a terminal; otherwise (pipe, file, CI
    log) plain lines without colour, wrapping or trailing spaces."""
    if (sys.stderr if stderr else sys.stdout).isatty():
        return _Console(stderr=stderr)
    plain = cast(IO[str], _TrimmedLines(stderr))  # the part of a text stream rich uses
    return _Console(file=plain, width=PLAIN_WIDTH, soft_wrap=True)


console = make_console()
err_console = make_console(stderr=True)


class _PlainFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.INFO:
            return record.message
        return f"{record.levelname.lower()}: {record.message}"


def setup_logging(verbose: bool) -> None:
    """Log to stderr: rich's handler on a terminal, else one plain line per message."""
    handler: logging.Handler
    if err_console.is_terminal:
        handler = RichHandler(console=err_console, show_path=False, show_time=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler()
        handler.setFormatter(_PlainFormatter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler])


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, unwrapped when it does not go to a terminal (like all our output)."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        if not sys.stdout.isatty():
            kwargs["width"] = PLAIN_WIDTH
        super().__init__(prog, **kwargs)


class ArgumentParser(argparse.ArgumentParser):
    """A parser (and subparsers) with `HelpFormatter`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def add_data_dir_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        help="data directory in the arena-hard layout (default: $KOARENA_DATA_DIR, else ./data)",
    )


def add_endpoint_file_option(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument(
        "--endpoint-file",
        required=required,
        type=Path,
        help="endpoint file (api_config.yaml); API keys as ${ENV_VAR} references",
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
