from __future__ import annotations

import errno
import multiprocessing as mp
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from koarena import jsonl
from koarena.errors import BusyError, DataError, OutputError
from koarena.jsonl import LoadReport, append_jsonl, iter_jsonl, sole_writer, write_jsonl_atomic


def test_torn_last_line_is_reported_and_skipped(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n{"x": 2}\n{"x": ')
    rep = LoadReport()
    assert [r for _, r in iter_jsonl(p, report=rep)] == [{"x": 1}, {"x": 2}]
    assert rep.torn_tail is True


def test_malformed_middle_line_is_an_error_naming_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n{oops\n{"x": 3}\n')
    with pytest.raises(DataError, match=r"a\.jsonl:2: malformed JSON"):
        list(iter_jsonl(p))
    rep = LoadReport()
    assert [r for _, r in iter_jsonl(p, strict=False, report=rep)] == [{"x": 1}, {"x": 3}]
    assert [n for n, _ in rep.malformed] == [2]


def test_non_object_line_is_an_error(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"[1, 2]\n")
    with pytest.raises(DataError, match="expected a JSON object"):
        list(iter_jsonl(p))


def test_append_after_torn_tail_cuts_the_torn_tail_off(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n{"x": ')
    append_jsonl(p, [{"x": 2}])
    # The torn fragment is gone, so it never becomes a malformed line in the middle.
    assert p.read_bytes() == b'{"x": 1}\n{"x":2}\n'
    assert [r for _, r in iter_jsonl(p)] == [{"x": 1}, {"x": 2}]
    assert "a.jsonl: removed a torn last line (6 bytes)" in caplog.text


def test_append_after_a_torn_only_line_empties_it_first(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1, "pad": "' + b"y" * 200_000)
    append_jsonl(p, [{"x": 2}])
    assert p.read_bytes() == b'{"x":2}\n'


def test_append_after_a_complete_record_without_newline_keeps_it(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n{"x": 2}')
    append_jsonl(p, [{"x": 3}])
    assert p.read_bytes() == b'{"x": 1}\n{"x": 2}\n{"x":3}\n'


def test_short_writes_are_completed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write

    def two_bytes_at_a_time(fd: int, data: bytes) -> int:
        return real_write(fd, bytes(data[:2]))

    monkeypatch.setattr(os, "write", two_bytes_at_a_time)
    p = tmp_path / "a.jsonl"
    append_jsonl(p, [{"x": 1}, {"t": "안녕"}])
    assert p.read_bytes() == '{"x":1}\n{"t":"안녕"}\n'.encode()


_FSIZE_CHILD = """
import resource, sys
from pathlib import Path
from koarena.errors import KoarenaError
from koarena.jsonl import append_jsonl
p = Path(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))
try:
    append_jsonl(p, [{"x": "y" * 300}])
except KoarenaError as exc:
    print(type(exc).__name__, exc)
"""


def test_file_size_limit_is_one_line_and_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n')
    src = str(Path(jsonl.__file__).parents[1])
    out = subprocess.run([sys.executable, "-c", _FSIZE_CHILD, str(p)], capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": src}, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout == (f"OutputError cannot write {p}: "
                          "file too large (file-size limit reached)\n")
    assert p.read_bytes() == b'{"x": 1}\n'


def test_no_space_left_is_one_line_and_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = []

    def disk_fills(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, bytes(data[:5]))

    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n')
    monkeypatch.setattr(os, "write", disk_fills)
    with pytest.raises(OutputError, match=r"^cannot write .*a\.jsonl: No space left on device$"):
        append_jsonl(p, [{"x": 2}])
    assert p.read_bytes() == b'{"x": 1}\n'


def test_atomic_write_failure_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    p = tmp_path / "a.jsonl"
    write_jsonl_atomic(p, [{"a": 1}])

    def no_space(*_a: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OutputError, match="No space left on device"):
        write_jsonl_atomic(p, [{"a": 2}])
    assert [r for _, r in iter_jsonl(p)] == [{"a": 1}]
    assert list(tmp_path.iterdir()) == [p]


def _hold_lock(path: str, ready: Any, release: Any) -> None:
    with sole_writer([Path(path)]):
        ready.set()
        release.wait(30)


def test_second_writer_fails_at_once_naming_file_and_pid(tmp_path: Path) -> None:
    p = tmp_path / "out" / "m.jsonl"
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(p), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(BusyError) as info, sole_writer([tmp_path / "other.jsonl", p]):
            pass
        assert str(info.value) == (f"{p} is being written by another koarena process "
                                   f"(pid {holder.pid}); wait for it to finish or stop it")
    finally:
        release.set()
        holder.join()
    with sole_writer([p]):  # released when the holder exits
        pass


def test_lock_is_released_when_the_holder_is_killed(tmp_path: Path) -> None:
    p = tmp_path / "m.jsonl"
    ctx = mp.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(p), ready, release))
    holder.start()
    assert ready.wait(30)
    holder.kill()
    holder.join()
    with sole_writer([p]):
        pass


def test_unicode_is_kept_as_utf8(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    append_jsonl(p, [{"t": "안녕하세요"}])
    assert "안녕하세요".encode() in p.read_bytes()


def _writer(path: str, tag: int) -> None:
    for i in range(200):
        append_jsonl(Path(path), [{"tag": tag, "i": i, "pad": "가" * 3000}])


def test_two_processes_appending_never_interleave(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(str(p), t)) for t in (1, 2)]
    for pr in procs:
        pr.start()
    for pr in procs:
        pr.join()
    rows = [r for _, r in iter_jsonl(p)]
    assert len(rows) == 400
    for tag in (1, 2):
        assert [r["i"] for r in rows if r["tag"] == tag] == list(range(200))


def test_atomic_write_replaces(tmp_path: Path) -> None:
    p = tmp_path / "d" / "a.jsonl"
    write_jsonl_atomic(p, [{"a": 1}])
    write_jsonl_atomic(p, [{"a": 2}, {"a": 3}])
    assert [r for _, r in iter_jsonl(p)] == [{"a": 2}, {"a": 3}]
    assert list(p.parent.iterdir()) == [p]
