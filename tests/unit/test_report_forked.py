"""`koarena.report.forked`: a function's result, or its exception, from a forked child."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from koarena.errors import DataError
from koarena.report.forked import ChildError, Forked, forked


def test_result_comes_back_from_the_child() -> None:
    data = list(range(100_000))  # the child has it already: nothing is sent to it
    child = Forked(lambda: (os.getpid(), sum(data), "가" * 200_000))
    pid, total, text = child.result()
    assert pid != os.getpid()
    assert total == sum(data)
    assert text == "가" * 200_000  # more than a pipe's buffer


def test_exception_is_raised_in_the_parent() -> None:
    def fail() -> None:
        raise DataError("bad input in the child")

    with pytest.raises(DataError, match="bad input in the child"):
        Forked(fail).result()


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def test_unpicklable_result_or_exception_and_a_dead_child() -> None:
    with pytest.raises(TypeError, match="cannot pickle"):
        Forked(lambda: threading.Lock()).result()

    def fail() -> None:
        raise _Unpicklable

    with pytest.raises(ChildError, match=r"holds a lock.*not picklable"):
        Forked(fail).result()
    with pytest.raises(ChildError, match="without a result"):
        Forked(lambda: os._exit(3)).result()


def test_the_child_never_runs_the_parents_cleanup(tmp_path: Path) -> None:
    marker = tmp_path / "cleanup"

    def fail() -> None:
        raise KeyboardInterrupt

    try:
        child = Forked(fail)
        with pytest.raises(KeyboardInterrupt):
            child.result()
    finally:
        # a child unwinding through this block would write the file a second time
        with marker.open("a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    assert marker.read_text("utf-8") == f"{os.getpid()}\n"


def test_a_child_whose_result_is_not_taken_is_stopped() -> None:
    with forked(lambda: threading.Event().wait()) as child:
        pid = child._pid
    assert pid is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    with pytest.raises(ChildError, match="taken already"):
        child.result()
