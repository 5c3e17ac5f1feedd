"""The build cache of a site: rendered shards by content hash, and what each input file gave.

It lives beside the site, as ``.<site>.koarena-cache`` in the site's parent directory: on the
same file system as the site (so a cached shard is hard-linked into a new build, not copied, and
costs no second copy on disk), never inside the site (which is copied to wherever it is
published), and not under the data directory (often read-only or shared by several sites).

Nothing in it can go stale, because every entry is named by a hash of everything it was made
from: a shard by the text it renders, its model, question and judge and `renderer_version`
(the source of the rendering modules and the versions of cmarkgfm, markdown-it-py and nh3); a
file's record by the file's bytes; the whole site by all input files, the options and the source
of the whole package. A changed input gets a new name, an unused entry is removed after the next
successful build. Deleting the directory only makes the next build a cold one.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import orjson

from koarena.errors import DataError

log = logging.getLogger(__name__)

_RENDER_MODULES = ("markdown.py", "shards.py", "jsdata.py")
_RENDER_PACKAGES = ("cmarkgfm", "markdown-it-py", "nh3")
_SITE_PACKAGES = (*_RENDER_PACKAGES, "numpy", "jinja2")


def digest(*parts: object) -> str:
    """A hex SHA-256 of ``parts`` (JSON-encoded, so that their boundaries count)."""
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SERIALIZE_NUMPY)).hexdigest()


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (SHA-NI makes this ~1 GB/s: 0.2 s for the full data)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _versions(packages: Iterable[str]) -> list[str]:
    return [f"{p}=={metadata.version(p)}" for p in packages]


@functools.cache
def renderer_version() -> str:
    """Changes whenever the HTML of a shard could: the rendering code or its libraries."""
    pkg = resources.files("koarena.report")
    sources = [(pkg / name).read_bytes().decode("utf-8") for name in _RENDER_MODULES]
    return digest(sources, _versions(_RENDER_PACKAGES))


@functools.cache
def code_version() -> str:
    """Changes whenever anything in koarena could change the site (pages, numbers, shards)."""
    root = Path(str(resources.files("koarena")))
    files = sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".js", ".css", ".html")
    )
    sources = [(str(p.relative_to(root)), p.read_bytes().decode("utf-8")) for p in files]
    return digest(sources, _versions(_SITE_PACKAGES))


def cache_dir_for(output: Path) -> Path:
    """Where the cache of the site at ``output`` lives (see the module docstring)."""
    return output.absolute().parent / f".{output.name}.koarena-cache"


class BuildCache:
    """Content-addressed files (``objects/``) and JSON records (``records/``) of one site."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.records = root / "records"
        self._folders: set[str] = set()
        """Object folders known to exist (a cold build puts 38,500 objects in 256 folders)."""

    @contextmanager
    def lock(self, site: Path) -> Iterator[None]:
        """Hold the cache (and so the site) for one build: a second build of the same site
        fails at once instead of pruning what the first one is writing."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "lock", "a+", encoding="utf-8") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                raise DataError(
                    f"another 'koarena report' (pid {fh.read().strip() or '?'}) is building "
                    f"{site}; wait for it to finish"
                ) from None
            fh.truncate(0)
            fh.write(str(os.getpid()))
            fh.flush()
            try:
                yield
            finally:
                fh.truncate(0)
                fcntl.flock(fh, fcntl.LOCK_UN)

    def object_path(self, key: str) -> str:
        return os.path.join(self.objects, key[:2], key)

    def has(self, key: str) -> bool:
        return os.path.isfile(self.object_path(key))

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (atomically: a crash leaves no half object)."""
        folder = os.path.join(self.objects, key[:2])
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        tmp = os.path.join(folder, f".{key}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            # Read-only: the site's files are hard links to these, and an edit in place of one
            # of them would otherwise change what the cache serves.
            os.fchmod(fh.fileno(), 0o444)
        os.replace(tmp, os.path.join(folder, key))

    def same_file(self, key: str, path: Path) -> bool:
        """Whether ``path`` is object ``key`` itself (a hard link to it)."""
        try:
            return os.path.samefile(self.object_path(key), path)
        except OSError:
            return False

    def size(self, key: str) -> int:
        return os.stat(self.object_path(key)).st_size

    def link(self, key: str, dest: str | Path) -> None:
        """Put object ``key`` at ``dest``: a hard link, or a copy where links are refused."""
        src = self.object_path(key)
        try:
            os.link(src, dest)
        except OSError:
            shutil.copyfile(src, dest)

    def has_record(self, key: str) -> bool:
        return os.path.isfile(self.records / f"{key}.json")

    def record(self, key: str) -> Any:
        """The JSON record stored under ``key``, or None."""
        try:
            return orjson.loads((self.records / f"{key}.json").read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None

    def put_record(self, key: str, value: Any) -> None:
        path = self.records / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        tmp.write_bytes(orjson.dumps(value))
        os.replace(tmp, path)

    def prune(self, objects: set[str], records: set[str]) -> int:
        """Remove every object and record not named; returns how many were removed."""
        removed = 0
        for folder, keep, suffix in ((self.objects, objects, ""), (self.records, records, ".json")):
            if not folder.is_dir():
                continue
            for root, _, names in os.walk(folder):
                for name in names:
                    if name.removesuffix(suffix) not in keep:
                        os.unlink(os.path.join(root, name))
                        removed += 1
        return removed
