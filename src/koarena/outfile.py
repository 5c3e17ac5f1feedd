"""Output files other than the JSONL records: checked before the work, replaced atomically.

A long computation (a bootstrap, an analysis) should not end in a traceback because its
``--output`` cannot be written: `check_writable` finds that out first, and `atomic_open` writes
a temporary file beside the target and renames it, so a failed write leaves the old file.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, BinaryIO

from koarena.errors import OutputError


def output_error(path: Path, exc: OSError) -> OutputError:
    """One line for a failed write: the file and the system's reason (full disk, too large)."""
    reason = exc.strerror or type(exc).__name__
    if exc.errno == errno.EFBIG:
        reason = "file too large (file-size limit reached)"
    return OutputError(f"cannot write {path}: {reason}")


def check_writable(path: Path) -> None:
    """Raise `OutputError` now if ``path`` could not be written later: a name or path too long
    for the file system, a parent that is a file, a directory without write permission, or a
    directory where the file should be. Creates nothing."""
    try:
        _check_writable(path)
    except OSError as exc:  # a name too long to even look up
        raise output_error(path, exc) from exc


def _check_writable(path: Path) -> None:
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(f"cannot write {path}: {ancestor} is not a directory")
    too_long = OutputError(f"cannot write {path}: {os.strerror(errno.ENAMETOOLONG)}")
    name_max = os.pathconf(ancestor, "PC_NAME_MAX")
    if any(len(os.fsencode(part)) > name_max for part in path.parts):
        raise too_long
    if len(os.fsencode(os.path.abspath(path))) >= os.pathconf(ancestor, "PC_PATH_MAX"):
        raise too_long
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    target = path if path.exists() else ancestor
    if not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {path}: {os.strerror(errno.EACCES)}")


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it when the block succeeds; any failure
    removes it and leaves ``path`` as it was (an `OSError` becomes `OutputError`)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise output_error(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_open(path: Path, newline: str | None = None) -> Iterator[IO[str]]:
    """A UTF-8 text file that replaces ``path`` (fsynced) only if the block succeeds."""
    with _replacing(path) as tmp, open(tmp, "w", encoding="utf-8", newline=newline) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


@contextmanager
def atomic_open_bytes(path: Path) -> Iterator[BinaryIO]:
    """A binary file that replaces ``path`` (fsynced) only if the block succeeds."""
    with _replacing(path) as tmp, open(tmp, "wb") as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
