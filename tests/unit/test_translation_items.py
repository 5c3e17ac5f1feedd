"""Source records ↔ translated records: the source's format and fields are kept."""

from __future__ import annotations

import pytest

from koarena.errors import DataError
from koarena.translation.checks import check_turn
from koarena.translation.items import SourceItem, TranslationInfo, record_flags


def _info(item: SourceItem, texts: list[str]) -> TranslationInfo:
    return TranslationInfo("en", item.turns, "tr", "tr-api", "h", 0.0, len(texts),
                           [check_turn(s, t) for s, t in zip(item.turns, texts, strict=True)],
                           1.0)


def test_v01_turns_as_objects_and_strings() -> None:
    rec = {"question_id": "q", "category": "c", "cluster": "k",
           "turns": [{"content": "Hello there, how are you?"}, "And now?"]}
    item = SourceItem.from_record(rec, "t")
    assert item.turns == ["Hello there, how are you?", "And now?"]
    out = item.translated(["안녕하세요, 잘 지내세요?", "이제는요?"],
                          _info(item, ["안녕하세요, 잘 지내세요?", "이제는요?"]).to_dict())
    assert out["turns"] == [{"content": "안녕하세요, 잘 지내세요?"}, "이제는요?"]
    assert {k: out[k] for k in ("question_id", "category", "cluster")} == {
        "question_id": "q", "category": "c", "cluster": "k"}
    assert rec["turns"][0] == {"content": "Hello there, how are you?"}  # source untouched
    assert out["translation"]["translator_model"] == "tr-api"
    assert record_flags(out) == []


def test_v2_prompt_and_messages() -> None:
    item = SourceItem.from_record({"uid": "u", "prompt": "Hi", "subcategory": "s"}, "t")
    assert item.translated(["안녕"], {})["prompt"] == "안녕"
    rec = {"uid": "m", "messages": [{"role": "user", "content": "a"},
                                    {"role": "assistant", "content": "b"}]}
    out = SourceItem.from_record(rec, "t").translated(["가", "나"], {"flags": ["refusal"]})
    assert out["messages"] == [{"role": "user", "content": "가"},
                               {"role": "assistant", "content": "나"}]
    assert record_flags(out) == ["refusal"]


def test_info_round_trips_and_bad_records_are_data_errors() -> None:
    item = SourceItem.from_record({"uid": "u", "prompt": "Write a poem about the sea."}, "t")
    info = _info(item, ["바다에 대한 시를 써 줘."])
    rec = item.translated(["바다에 대한 시를 써 줘."], info.to_dict())
    assert TranslationInfo.from_record(rec) == info
    assert TranslationInfo.from_record({"uid": "u"}) is None
    with pytest.raises(DataError, match="t: record has no question_id/uid"):
        SourceItem.from_record({"prompt": "x"}, "t")
    with pytest.raises(DataError, match="neither turns, messages nor prompt"):
        SourceItem.from_record({"uid": "u"}, "t")
    with pytest.raises(DataError, match="string 'content'"):
        SourceItem.from_record({"uid": "u", "turns": [{"content": None}]}, "t")
    with pytest.raises(ValueError, match="2 translations for 1 turns"):
        item.translated(["a", "b"], {})


def test_a_question_in_messages_form_is_its_user_turns() -> None:
    from koarena.records import Question

    q = Question.from_dict({"uid": "m", "messages": [
        {"role": "user", "content": "가"}, {"role": "assistant", "content": "나"},
        {"role": "user", "content": "다"}]}, "t")
    assert q.turns == ["가", "다"]
    with pytest.raises(DataError, match="t: question m: messages has no user turn"):
        Question.from_dict({"uid": "m", "messages": [{"role": "system", "content": "x"}]}, "t")
