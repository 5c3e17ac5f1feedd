"""Build a site beside its target and swap it in only when the build succeeded.

A rebuild that fails (bad data, a crash, Ctrl-C) must leave the previous site as it was, so the
site is written into a fresh directory next to the target (same file system, so the swap is a
rename) and replaces the target only at the end. The target is never written through a
symbolic link: a link anywhere inside it (or the target itself being one) is refused, since the
old site is deleted after the swap and deleting through a link would reach outside it.

The replaced site is not deleted but kept beside the target as the *spare*, and the next build
starts from it (`staged_output` moves it into place as the stage): a site is tens of thousands
of hard links, and most of them are the same in the next build, so `scan_stage` lists what the
stage holds and the build replaces only the entries that differ (`SiteWriter` in
`koarena.report.builder`) instead of linking every file again and deleting every file of the
old site.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from koarena.errors import DataError

log = logging.getLogger(__name__)

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


def spare_of(output: Path) -> Path:
    """Where the site replaced by the last build of ``output`` is kept for the next one."""
    return output.parent / f".{output.name}.spare"


@dataclass
class StageContents:
    """What a stage held when the build started (relative paths; empty for a fresh stage)."""

    files: dict[str, int] = field(default_factory=dict)
    """Regular files and their inode numbers."""
    folders: set[str] = field(default_factory=set)
    """Directories ("" for the stage itself)."""


def scan_stage(stage: Path) -> StageContents:
    """The regular files and directories under ``stage``; anything else in it (a symbolic link,
    a socket) is removed on the way, never followed."""
    found = StageContents(folders={""})
    pending = [""]
    while pending:
        rel = pending.pop()
        with os.scandir(stage / rel) as entries:
            for entry in entries:
                path = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir(follow_symlinks=False):
                    found.folders.add(path)
                    pending.append(path)
                elif entry.is_file(follow_symlinks=False):
                    found.files[path] = entry.inode()
                else:
                    os.unlink(entry.path)
    return found


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
    spare = spare_of(output)
    try:
        if spare.is_dir() and not spare.is_symlink():
            os.replace(spare, stage)  # onto the empty directory mkdtemp made
        yield stage
        marker = stage / MARKER
        marker.unlink(missing_ok=True)
        marker.write_text(
            f"written by koarena report; replaced by a rebuild\nbuild {build}\n", "utf-8"
        )
        os.chmod(stage, 0o755)  # mkdtemp makes it private; a site is for reading
        swap(stage, output, keep=spare)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def swap(stage: Path, output: Path, keep: Path | None = None) -> None:
    """Put ``stage`` in the place of ``output``: two renames, so a reader sees either the old
    site or the new one, apart from the instant between them. The old site is deleted, or
    moved to ``keep`` (replacing what is there)."""
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
    try:
        if keep is not None:
            if keep.is_dir() and not keep.is_symlink():
                shutil.rmtree(keep)
            else:
                keep.unlink(missing_ok=True)
            os.replace(old / "site", keep)
    except OSError as exc:
        # the new site is in place; without a spare the next build only links every file
        log.warning("could not keep the previous site as %s: %s", keep, exc)
    finally:
        shutil.rmtree(old, ignore_errors=True)
