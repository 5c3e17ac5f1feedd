"""Python's cyclic garbage collector paused while bulk data is loaded.

Loading a bench makes about a million objects that live until the command ends (the records of
38,000 answers and judgments: plain data, freed by reference counting). While they are made,
every collection of the oldest generation rescans all those made so far, for nothing. Paused,
`koarena.report` loaded its cached records in 0.5 s of CPU instead of 1.3 s; `koarena
leaderboard` on the shared data, which loads less, saves about 0.2-0.5 s of its 7.5-8.5 s
(`benchmarks/bench_gc_pause.py`, docs/benchmarks.md).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off inside the block (and left as it was: a caller that had turned
    it off keeps it off)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
