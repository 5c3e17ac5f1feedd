"""Per-question shards: verdict codes and the rendered payload."""

from __future__ import annotations

from pathlib import Path

from koarena.records import Answer, Game, Judgment, StyleMeta
from koarena.report.shards import AnswerText, GameText, ShardJob, shard_payload, verdict_code


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


def test_answer_text_flags() -> None:
    meta = StyleMeta(7, {}, {}, {})
    assert AnswerText.of(Answer("q1", "m", ["$ERROR$"], meta=meta)) == AnswerText(
        ["$ERROR$"], 7, failed=True, empty=False
    )
    assert AnswerText.of(Answer("q1", "m", [" "])) == AnswerText([" "], None, False, True)


def test_shard_payload(tmp_path: Path) -> None:
    job = ShardJob(
        path=tmp_path / "q.js",
        key="q:q1",
        question_id="q1",
        cluster="Puzzles",
        ko_cluster="퍼즐",
        turns=["질문 <b>"],
        baseline="base",
        answers={
            "base": AnswerText(["# 답"], 3, False, False),
            "m": AnswerText(["<img src=x onerror=alert(1)>"], 9, False, False),
        },
        games={"j": {"m": [GameText("A>B", "**A**", ""), GameText(None, "", "no label")]}},
    )
    assert shard_payload(job) == {
        "id": "q1",
        "cluster": "Puzzles",
        "ko_cluster": "퍼즐",
        "turns": ["<p>질문 &lt;b&gt;</p>\n"],
        "baseline": "base",
        "answers": {
            "base": {"html": ["<h1>답</h1>\n"], "tokens": 3, "failed": False, "empty": False},
            "m": {
                "html": ["<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"],
                "tokens": 9,
                "failed": False,
                "empty": False,
            },
        },
        "games": {
            "j": {
                "m": [
                    {"score": "A>B", "html": "<p><strong>A</strong></p>\n", "problem": ""},
                    {"score": None, "html": "", "problem": "no label"},
                ]
            }
        },
    }
