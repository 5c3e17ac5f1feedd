from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from koarena.bench import Bench, check_name, resolve_data_dir
from koarena.errors import DataError, UnsafeNameError
from koarena.records import Answer, Judgment, Question, StyleMeta

META = {
    "token_len": 12,
    "header_count": {"h1": 1, "h2": 2, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
    "list_count": {"ordered": 3, "unordered": 4},
    "bold_count": {"**": 5, "__": 6},
}


def test_v01_answer_round_trips() -> None:
    rec = {
        "question_id": "q1",
        "answer_id": "a1",
        "model_id": "m",
        "choices": [{"index": 0, "turns": [{"content": "첫째"}, {"content": "둘째"}]}],
        "tstamp": 1.5,
        "conv_metadata": META,
    }
    a = Answer.from_dict(rec, "x")
    assert a.turns == ["첫째", "둘째"]
    assert a.text == "둘째"
    assert a.meta is not None
    assert (a.meta.headers, a.meta.lists, a.meta.bolds) == (3, 7, 11)
    assert a.to_dict() == rec


def test_v20_answer_with_reasoning() -> None:
    rec = {
        "uid": "q1",
        "ans_id": "a1",
        "model": "m",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": {"answer": "답", "reasoning": "생각"}},
        ],
        "tstamp": 2.0,
        "metadata": META,
    }
    a = Answer.from_dict(rec, "x")
    assert (a.question_id, a.model, a.turns, a.reasoning) == ("q1", "m", ["답"], ["생각"])
    out = a.to_dict()
    assert out["choices"][0]["turns"] == [{"content": "답", "reasoning": "생각"}]


def test_failure_marker_and_empty() -> None:
    base = {"question_id": "q", "model_id": "m"}
    a = Answer.from_dict({**base, "choices": [{"turns": [{"content": " $ERROR$ "}]}]}, "x")
    e = Answer.from_dict({**base, "choices": [{"turns": [{"content": "  "}]}]}, "x")
    ok = Answer.from_dict({**base, "choices": [{"turns": [{"content": "답"}]}]}, "x")
    assert (a.is_failure_marker, a.is_empty) == (True, False)
    assert (e.is_failure_marker, e.is_empty) == (False, True)
    assert (ok.is_failure_marker, ok.is_empty) == (False, False)


def test_question_formats() -> None:
    q1 = Question.from_dict(
        {"question_id": "a", "category": "c", "cluster": "x", "ko_cluster": "엑스",
         "turns": [{"content": "질문"}]},
        "f",
    )
    q2 = Question.from_dict({"uid": "b", "category": "hard_prompt", "prompt": "p"}, "f")
    assert (q1.question_id, q1.turns, q1.ko_cluster) == ("a", ["질문"], "엑스")
    assert (q2.question_id, q2.turns) == ("b", ["p"])


@pytest.mark.parametrize(
    "rec",
    [
        {"turns": [{"content": "x"}]},
        {"question_id": "", "turns": []},
        {"question_id": 5, "turns": []},
    ],
)
def test_question_without_id_is_rejected(rec: dict[str, object]) -> None:
    with pytest.raises(DataError, match="no question_id/uid"):
        Question.from_dict(rec, "f:3")


def test_judgment_with_bad_games() -> None:
    j = Judgment.from_dict(
        {"question_id": "q", "model": "m", "judge": "j",
         "games": [{"score": "A>B", "judgment": "설명"}, None]},
        "f",
    )
    assert j.games[0] is not None and j.games[0].score == "A>B"
    assert j.games[0].extra == {"judgment": "설명"}
    assert j.games[1] is None
    with pytest.raises(DataError, match=r"^f: judgment q: games must be a list, got null$"):
        Judgment.from_dict({"question_id": "q", "model": "m"}, "f")


def test_style_meta_accepts_plain_counts() -> None:
    m = StyleMeta.from_dict(
        {"token_len": 3, "header_count": 2, "list_count": {"a": 1}, "bold_count": 0}, "f"
    )
    assert (m.headers, m.lists, m.bolds) == (2, 1, 0)
    with pytest.raises(DataError, match=r"^f: style metadata has no header_count$"):
        StyleMeta.from_dict({"token_len": 3}, "f")


_ANSWER = {"question_id": "q", "model_id": "m", "tstamp": 1.5,
           "choices": [{"index": 0, "turns": [{"content": "답"}]}],
           "conv_metadata": {"token_len": 3, "header_count": {"h1": 1}, "list_count": {},
                             "bold_count": {}}}


def _with(rec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(rec)
    *parents, last = path.split(".")
    node: Any = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[last] = value
    return out


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("tstamp", "yesterday", "answer q: tstamp must be a number, got a string"),
        ("choices.0.turns", None, "answer q: choices[0].turns must be a list, got null"),
        ("choices.0.turns", 5, "answer q: choices[0].turns must be a list, got a number"),
        ("choices.0.turns", "hello", "answer q: choices[0].turns must be a list, got a string"),
        ("choices.0.turns.0.content", 7, "content must be a string, got a number"),
        ("choices", [], "answer q: choices must be a non-empty list of objects, got a list"),
        ("conv_metadata.header_count", [1, 2],
         "header_count must be an object of counts or a count, got a list"),
        ("conv_metadata.token_len", "9", "token_len must be a whole number of 0 or more, "
                                         "got a string '9'"),
        ("conv_metadata.list_count", {"ordered": -1},
         "list_count.ordered must be a whole number of 0 or more, got a number -1"),
        ("conv_metadata", [], "style metadata must be an object, got a list"),
        ("answer_id", ["x"], "answer q: answer_id must be a string, got a list"),
        ("choices.0.turns.0.finish_reason", {"r": 1},
         "finish_reason must be a string or null, got an object"),
    ],
)
def test_wrong_typed_answer_fields_name_file_line_and_problem(
    path: str, value: Any, message: str
) -> None:
    with pytest.raises(DataError) as info:
        Answer.from_dict(_with(_ANSWER, path, value), "a.jsonl:7")
    assert str(info.value) == f"a.jsonl:7: {message}"


def test_wrong_typed_v2_messages_are_rejected() -> None:
    with pytest.raises(DataError, match=r"^a:1: answer q: a message must be an object, got a "
                                        r"number$"):
        Answer.from_dict({"uid": "q", "model": "m", "messages": [1]}, "a:1")
    with pytest.raises(DataError, match=r"^a:1: answer q: messages must be a list, got null$"):
        Answer.from_dict({"uid": "q", "model": "m", "messages": None}, "a:1")


@pytest.mark.parametrize(
    ("turns", "message"),
    [
        (None, "question q: turns must be a non-empty list, got null"),
        ("hello", "question q: turns must be a non-empty list, got a string"),
        ([], "question q: turns must be a non-empty list, got a list"),
        ([5], "a turn must be a string or an object with 'content', got a number"),
        ([{"content": ["x"]}], "content must be a string, got a list"),
    ],
)
def test_wrong_typed_question_turns(turns: Any, message: str) -> None:
    with pytest.raises(DataError) as info:
        Question.from_dict({"question_id": "q", "turns": turns}, "question.jsonl:3")
    assert str(info.value) == f"question.jsonl:3: {message}"
    with pytest.raises(DataError, match="category must be a string, got an object"):
        Question.from_dict({"question_id": "q", "turns": ["x"], "category": {}}, "f")


def test_wrong_typed_judgment_games() -> None:
    base = {"question_id": "q", "model": "m"}
    with pytest.raises(DataError, match=r"^f: judgment q: a game must be an object or null, "
                                        r"got a number$"):
        Judgment.from_dict({**base, "games": [1]}, "f")
    with pytest.raises(DataError, match=r"^f: judgment q: a game's score must be a string or "
                                        r"null, got a number$"):
        Judgment.from_dict({**base, "games": [{"score": 3}]}, "f")
    with pytest.raises(DataError, match=r"^f: judge must be a string, got a list$"):
        Judgment.from_dict({**base, "judge": [], "games": []}, "f")


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", ".hidden", "a\\b", "a\x00b"])
def test_unsafe_names_are_rejected(name: str) -> None:
    with pytest.raises(UnsafeNameError):
        check_name(name)


@pytest.mark.parametrize("name", ["gpt-4o-mini", "claude-3.7-sonnet(thinking)", "모델 1"])
def test_ordinary_names_pass(name: str) -> None:
    assert check_name(name) == name


def test_bench_paths_refuse_escaping_names(tmp_path: Path) -> None:
    b = Bench(tmp_path)
    assert b.answer_file("m") == tmp_path / "ko-arena-hard-v0.1" / "model_answer" / "m.jsonl"
    with pytest.raises(UnsafeNameError):
        b.answer_file("../../etc/passwd")
    with pytest.raises(UnsafeNameError):
        b.judgment_dir("../x")
    with pytest.raises(UnsafeNameError):
        Bench(tmp_path, "../up")


def test_data_dir_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_data_dir("/x") == Path("/x")
    monkeypatch.setenv("KOARENA_DATA_DIR", "/from/env")
    assert resolve_data_dir(None) == Path("/from/env")
    monkeypatch.delenv("KOARENA_DATA_DIR")
    assert resolve_data_dir(None) == Path("data")
