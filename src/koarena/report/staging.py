"""Build a site beside its target and swap it in only when the build succeeded.

A rebuild that fails (bad data, a crash, Ctrl-C) must leave the previous site as it was, so the
site is written into a fresh directory next to the target (same file system, so the swap is a
rename) and replaces the target only at the end. The target is never written through a
symbolic link: a link anywhere inside it (or the target itself being one) is refused, since the
old site is deleted after the swap and deleting through a link would reach outside it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from koarena.errors import DataError

MARKER = ".koarena-report"
"""A file in every site this builds: only such a directory is ever replaced by a rebuild."""


def check_target(output: Path) -> None:
    """Raise `DataError` unless ``output`` is absent, empty, or a site this tool wrote with no
    symbolic link in it."""
    if output.is_symlink():
        raise DataError(
            f"--output {output} is a symbolic link; name the directory itself "
            f"({output.resolve()})"
        )
    if not output.exists():
        return
    if not output.is_dir():
        raise DataError(f"--output {output} exists and is not a directory")
    if not any(output.iterdir()):
        return
    if not (output / MARKER).is_file():
        raise DataError(
            f"--output {output} is not empty and was not written by 'koarena report'; "
            "name a new or empty directory"
        )
    link = _first_link(output)
    if link is not None:
        raise DataError(
            f"--output {output} contains a symbolic link ({link}); a rebuild replaces "
            "the whole directory and never follows links: remove it"
        )


def _first_link(top: Path) -> Path | None:
    """A symbolic link anywhere under ``top``, or None. A site holds tens of thousands of files:
    the directory entries' own types (no stat per file, unlike `os.walk` + `Path.is_symlink`)
    answer it in a fraction of the time."""
    pending = [str(top)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_symlink():
                    return Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
    return None


def remove_leftovers(output: Path) -> None:
    """Remove the staging directories that killed builds of ``output`` left beside it. Only
    while holding the site's lock (`koarena.report.cache.BuildCache.lock`): no build runs."""
    for prefix in (f".{output.name}.building-", f".{output.name}.old-"):
        for stale in output.parent.glob(prefix + "*"):
            if stale.is_dir() and not stale.is_symlink():
                shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def staged_output(output: Path, build: str) -> Iterator[Path]:
    """Yield an empty directory beside ``output`` to build into; on a normal exit it replaces
    ``output`` (the previous site is removed), on an exception it is removed and ``output`` is
    left untouched. ``build`` names the build in the marker file."""
    check_target(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{output.name}.building-", dir=output.parent))
    try:
        yield stage
        (stage / MARKER).write_text(
            f"written by koarena report; replaced by a rebuild\nbuild {build}\n", "utf-8"
        )
        os.chmod(stage, 0o755)  # mkdtemp makes it private; a site is for reading
        swap(stage, output)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def swap(stage: Path, output: Path) -> None:
    """Put ``stage`` in the place of ``output``: two renames, so a reader sees either the old
    site or the new one, apart from the instant between them."""
    if not output.exists():
        os.replace(stage, output)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output.name}.old-", dir=output.parent))
    os.replace(output, old / "site")
    try:
        os.replace(stage, output)
    except OSError:
        os.replace(old / "site", output)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
