"""JSON Lines IO that survives crashes.

Reading: a last line without its newline that does not parse is a torn write (a crash
mid-append); it is reported and skipped. Any other bad line is a `DataError` naming the file and
line. Writing: records are appended as whole lines under an exclusive ``flock``, then fsynced, so
concurrent appenders never interleave. A torn tail left by a crash is cut off before the next
append (so it never becomes a bad line in the middle), and an append that fails part-way (full
disk, file-size limit) is rolled back to the old end of the file and raised as `OutputError`.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from koarena.errors import BusyError, DataError
from koarena.outfile import atomic_open_bytes, output_error

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    """What a lenient load skipped, for `koarena data check` and warnings."""

    torn_tail: bool = False
    malformed: list[tuple[int, str]] = field(default_factory=list)
    duplicates: int = 0
    """Records dropped or replaced because their question came again."""


def iter_jsonl(
    path: Path, *, strict: bool = True, report: LoadReport | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each JSON object line of ``path``.

    With ``strict`` a malformed line (other than a torn last line) raises `DataError`;
    without it the line is recorded in ``report`` and skipped.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataError(f"{path}: file not found") from exc
    lines = data.split(b"\n")
    torn_candidate = not data.endswith(b"\n") and data != b""
    last = len(lines) - 1
    for idx, raw in enumerate(lines):
        if not raw.strip():
            continue
        lineno = idx + 1
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if torn_candidate and idx == last:
                log.warning("%s: line %d is a torn (incomplete) last line; ignored", path, lineno)
                if report is not None:
                    report.torn_tail = True
                continue
            msg = f"{path}:{lineno}: malformed JSON ({exc.msg})"
            if strict:
                raise DataError(msg) from exc
            if report is not None:
                report.malformed.append((lineno, exc.msg))
            continue
        if not isinstance(obj, dict):
            msg = f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}"
            if strict:
                raise DataError(msg)
            if report is not None:
                report.malformed.append((lineno, "not a JSON object"))
            continue
        yield lineno, obj


def dumps_line(record: dict[str, Any]) -> bytes:
    """One record as a compact JSON line (UTF-8, non-ASCII kept as is)."""
    return orjson.dumps(record) + b"\n"


def append_jsonl(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Append whole lines to ``path`` under an exclusive lock, then fsync.

    A torn tail left by an earlier crash (a last line without newline that does not parse) is
    cut off first and reported; a complete last record that merely lacks its newline gets one.
    If the write fails part-way, the file is truncated back to its old end and `OutputError`
    says why in one line (no space left, file too large, ...).
    """
    payload = b"".join(dumps_line(r) for r in records)
    if not payload:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise output_error(path, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            start = _repair_tail(fd, path)
            if start and os.pread(fd, 1, start - 1) != b"\n":
                payload = b"\n" + payload
            try:
                _write_all(fd, payload)
                os.fsync(fd)
            except OSError as exc:
                # Leave the file as it was rather than with half a line at its end.
                os.ftruncate(fd, start)
                raise output_error(path, exc) from exc
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _repair_tail(fd: int, path: Path) -> int:
    """Cut a torn last line off the file open as ``fd``; return the file's size after."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    # Read back from the end in blocks until the last newline (or the start of the file).
    block = 1 << 16
    end = size
    tail = b""
    while end > 0:
        begin = max(0, end - block)
        tail = os.pread(fd, end - begin, begin) + tail
        end = begin
        nl = tail.rfind(b"\n")
        if nl >= 0:
            begin += nl + 1
            tail = tail[nl + 1:]
            break
    else:
        begin = 0
    try:
        complete = isinstance(orjson.loads(tail), dict)
    except orjson.JSONDecodeError:
        complete = False
    if complete:
        return size
    log.warning("%s: removed a torn last line (%d bytes) left by an interrupted write",
                path, size - begin)
    os.ftruncate(fd, begin)
    return begin


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written: a write may write only part of its buffer."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def write_jsonl_atomic(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` with ``records`` atomically (write a temp file, then rename).

    A failed write removes the temp file and leaves ``path`` as it was (`OutputError`).
    """
    with atomic_open_bytes(path) as fh:
        for r in records:
            fh.write(dumps_line(r))


def lock_path(path: Path) -> Path:
    """The lock file of an output file: a hidden file beside it (never read as data)."""
    return path.with_name(f".{path.name}.lock")


@contextmanager
def sole_writer(paths: Iterable[Path]) -> Iterator[None]:
    """Hold the one-writer lock of each output file in ``paths`` for the duration.

    A second process asking for a file already held fails at once with `BusyError` naming the
    file and the holder's pid, before it reads or sends anything, so two runs never pay for the
    same requests or write the same records. The lock is an ``flock`` on a lock file beside the
    output: the kernel releases it when the holder exits, however it exits. Lock files are left
    in place (removing one would let a third process lock a new file while a second holds the
    old one).
    """
    with ExitStack() as stack:
        for path in sorted(set(paths)):
            lock = lock_path(path)
            try:
                lock.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise output_error(lock, exc) from exc
            stack.callback(os.close, fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                who = f"pid {holder}" if holder.isdigit() else "pid unknown"
                raise BusyError(
                    f"{path} is being written by another koarena process ({who}); "
                    "wait for it to finish or stop it"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
