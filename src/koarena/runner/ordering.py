"""Output files in task order once they are complete.

Concurrent requests finish in any order, and records are appended as they finish, so that a
crash loses nothing. But the order of a judgment file is not neutral: the bootstrap resamples
battles by position, so the same verdicts in another line order give another confidence
interval for the same seed (the original tool has the same property, which is why published
files are read in their own order and never sorted). To make a run reproducible, a file that a
run appended to is rewritten in the order of its tasks (the bench's question order) as soon as
it holds exactly the records of those tasks: the same verdicts then always give the same
file, and the same interval. A file that is incomplete (an interrupted or failed run), holds
records of other questions, or has a line that does not parse is left as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import orjson

from koarena.outfile import atomic_open_bytes
from koarena.runner.tasks import Task, record_key

log = logging.getLogger(__name__)


def put_in_task_order(tasks: Sequence[Task], written: Iterable[Path]) -> None:
    """Rewrite each file of ``written`` that is complete in the order of its ``tasks``.

    Call it while holding the file's one-writer lock (`koarena.jsonl.sole_writer`); the file is
    replaced atomically, its lines kept byte for byte.
    """
    ranks: dict[Path, dict[str, int]] = {}
    for t in tasks:
        rank = ranks.setdefault(t.output, {})
        rank.setdefault(t.key, len(rank))
    for path in set(written) & ranks.keys():
        _reorder(path, ranks[path])


def _reorder(path: Path, rank: dict[str, int]) -> None:
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        return  # a torn tail: the next append repairs it first
    lines = [line for line in data.split(b"\n") if line.strip()]
    keys: list[str] = []
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            return
        key = record_key(record) if isinstance(record, dict) else None
        if key is None or key not in rank:
            return
        keys.append(key)
    if len(keys) != len(rank) or len(set(keys)) != len(keys):
        return  # not complete yet, or a duplicate for the checks downstream to report
    order = sorted(range(len(lines)), key=lambda i: rank[keys[i]])
    if order == list(range(len(lines))):
        return
    with atomic_open_bytes(path) as fh:
        fh.write(b"".join(lines[i] + b"\n" for i in order))
    log.debug("%s: %d records put in question order", path, len(lines))
