"""Run a function in a forked child process and take its result back.

The report's leaderboard fits need all the data the build has loaded; a forked child has it
already (copy on write), so only the function's result crosses back, pickled through a pipe.
A pool of workers started earlier would need the data pickled the other way first, which cost
what the second core saved (see docs/benchmarks.md).

The child leaves with `os._exit` as soon as it has sent its result: it never runs the parent's
``finally`` blocks, context managers or exit handlers (the build's lock, its staging directory,
the worker pool), which are the parent's to close.
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class ChildError(RuntimeError):
    """The child died without a result, or its result or exception could not be pickled."""


class Forked(Generic[T]):
    """``fn()`` running in a forked child; `result` waits for its value or raises its
    exception."""

    def __init__(self, fn: Callable[[], T]) -> None:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child
            os.close(read)
            _child(fn, write)
        os.close(write)
        self._pid: int | None = pid
        self._read = read

    def result(self) -> T:
        """The child's return value; its exception is raised here."""
        if self._pid is None:
            raise ChildError("the result was taken already")
        chunks = []
        with os.fdopen(self._read, "rb") as fh:
            while chunk := fh.read(1 << 20):
                chunks.append(chunk)
        _, status = os.waitpid(self._pid, 0)
        self._pid = None
        if not chunks:
            raise ChildError(f"the child process ended without a result (status {status})")
        ok, value = pickle.loads(b"".join(chunks))
        if not ok:
            raise value
        result: T = value
        return result

    def stop(self) -> None:
        """End the child if its result was not taken (the parent gave up on it)."""
        if self._pid is not None:
            os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            os.close(self._read)
            self._pid = None


@contextmanager
def forked(fn: Callable[[], T]) -> Iterator[Forked[T]]:
    """`Forked` of ``fn``, stopped on the way out unless its result was taken."""
    child = Forked(fn)
    try:
        yield child
    finally:
        child.stop()


def _child(fn: Callable[[], T], write: int) -> None:
    code = 0
    try:
        try:
            data = pickle.dumps((True, fn()))
        except BaseException as exc:  # every exception goes to the parent
            try:
                data = pickle.dumps((False, exc))
            except Exception as why:  # an exception that does not pickle
                data = pickle.dumps((False, ChildError(f"{exc!r} (not picklable: {why})")))
        with os.fdopen(write, "wb") as fh:
            fh.write(data)
    except BaseException:  # nothing may unwind into the parent's code
        code = 1
    finally:
        os._exit(code)
