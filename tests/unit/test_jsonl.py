from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from koarena.errors import DataError
from koarena.jsonl import LoadReport, append_jsonl, iter_jsonl, write_jsonl_atomic


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


def test_append_after_torn_tail_starts_a_new_line(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"x": 1}\n{"x": ')
    append_jsonl(p, [{"x": 2}])
    assert p.read_bytes() == b'{"x": 1}\n{"x": \n{"x":2}\n'
    rep = LoadReport()
    assert [r for _, r in iter_jsonl(p, strict=False, report=rep)] == [{"x": 1}, {"x": 2}]
    assert [n for n, _ in rep.malformed] == [2]


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
