"""The browser's shards: verdict codes, names and the rendered payloads."""

from __future__ import annotations

import re

from koarena.records import Answer, Game, Judgment, Question, StyleMeta
from koarena.report.shards import (
    GameText,
    answer_payload,
    answer_shard,
    has_text,
    judge_payload,
    judge_shard,
    name_key,
    question_payload,
    question_shard,
    verdict_code,
)


def _judgment(*games: Game | None) -> Judgment:
    return Judgment("q1", "m", "j", list(games))


def test_verdict_code() -> None:
    assert verdict_code(None) == ".."
    assert verdict_code(_judgment(Game("A>>B"), Game("B>A"))) == "ad"
    assert verdict_code(_judgment(Game("A=B"), Game("B>>A"))) == "ce"
    assert verdict_code(_judgment(Game("A>B"), Game(None))) == "b-"
    assert verdict_code(_judgment(Game("[[A>B]]"), None)) == "--"
    assert verdict_code(_judgment(Game("A>B"))) == "b-"


def test_game_text_reads_explanations_of_both_formats() -> None:
    j = _judgment(
        Game("A>B", {"judgment": "\nA is better.\n"}),
        Game(None, {"judgment": {"answer": "no label"}, "unparsed_reason": "no verdict label"}),
    )
    assert GameText.of(j) == [
        GameText("A>B", "A is better.", ""),
        GameText(None, "no label", "no verdict label"),
    ]
    assert GameText.of(_judgment(Game("A=B"))) == [
        GameText("A=B", "", ""),
        GameText(None, "", "game missing"),
    ]


def test_game_text_keeps_the_judges_reasoning_apart() -> None:
    j = _judgment(
        Game("A>B", {"judgment": "\nA.", "judge_reasoning": ["생각 <script>", ""]}),
        Game("B>A", {"judgment": "\nB.", "judge_reasoning": "not a list"}),
    )
    texts = GameText.of(j)
    assert texts == [
        GameText("A>B", "A.", "", ["생각 <script>"]),
        GameText("B>A", "B.", "", []),
    ]
    assert has_text(texts)
    assert not has_text([GameText("A>B", "", ""), GameText(None, "", "game missing")])
    assert judge_payload(texts) == {"games": [
        {"html": "<p>A.</p>\n", "reasoning": ["<p>생각 &lt;script&gt;</p>\n"]},
        {"html": "<p>B.</p>\n", "reasoning": []},
    ]}


def test_answer_payload() -> None:
    meta = StyleMeta(7, {}, {}, {})
    assert answer_payload(Answer("q1", "m", ["$ERROR$"], meta=meta)) == {
        "html": ["<p>$ERROR$</p>\n"], "tokens": 7, "failed": True, "empty": False,
    }
    assert answer_payload(Answer("q1", "m", [" ", "<img src=x onerror=alert(1)>"])) == {
        "html": ["", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"],
        "tokens": None,
        "failed": False,
        "empty": False,
    }


def test_question_payload_and_shard_names() -> None:
    q = Question("q/../1", ["질문 <b>", "# 둘"], cluster="Puzzles", ko_cluster="퍼즐")
    assert question_payload(q) == {
        "id": "q/../1",
        "cluster": "Puzzles",
        "ko_cluster": "퍼즐",
        "turns": ["<p>질문 &lt;b&gt;</p>\n", "<h1>둘</h1>\n"],
    }
    k = name_key("q/../1")
    assert re.fullmatch(r"[0-9a-f]{16}", k)
    assert question_shard(q) == f"q/{k}.js"
    assert answer_shard("../m", "q/../1") == f"a/{name_key('../m')}/{k}.js"
    assert judge_shard("j", "m", "q/../1") == f"j/{name_key('j')}/{name_key('m')}/{k}.js"
