"""JSON Lines IO that survives crashes.

Reading: a last line without its newline that does not parse is a torn write (a crash
mid-append); it is reported and skipped. Any other bad line is a `DataError` naming the file and
line. Writing: `append_jsonl` writes a batch of whole lines with one ``write`` under an
exclusive ``flock``, then fsyncs, so concurrent appenders never interleave and a crash leaves at
most one torn tail.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from koarena.errors import DataError

log = logging.getLogger(__name__)


@dataclass
class LoadReport:
    """What a lenient load skipped, for `koarena data check` and warnings."""

    torn_tail: bool = False
    malformed: list[tuple[int, str]] = field(default_factory=list)


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

    A torn tail left by an earlier crash is first terminated with a newline so the new
    record starts on a line of its own (the torn fragment stays a lone bad line that
    loaders skip).
    """
    payload = b"".join(dumps_line(r) for r in records)
    if not payload:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as fh:
                    fh.seek(size - 1)
                    if fh.read(1) != b"\n":
                        payload = b"\n" + payload
            os.write(fd, payload)
            os.fsync(fd)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_jsonl_atomic(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """Replace ``path`` with ``records`` atomically (write a temp file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        for r in records:
            fh.write(dumps_line(r))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
