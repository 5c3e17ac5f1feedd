"""Per-question data shards of the judgment browser: rendered once at build time.

A shard holds one question with the baseline's and every model's answer, and every judge's two
games on each model's answer. All text in it that the browser inserts as HTML has been through
`render_markdown`; everything else (names, labels, counts) is inserted as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koarena.records import Answer, Judgment
from koarena.report.jsdata import write_shard
from koarena.report.markdown import render_markdown
from koarena.verdicts import game_code

NO_JUDGMENT = "."


def verdict_code(judgment: Judgment | None) -> str:
    """Two characters for the two games of a judgment (`koarena.verdicts.game_code`; ``..``
    when there is none).

    >>> verdict_code(None)
    '..'
    """
    if judgment is None:
        return NO_JUDGMENT * 2
    return game_code(judgment.label(0)) + game_code(judgment.label(1))


@dataclass
class AnswerText:
    """What the browser shows of one answer, before rendering."""

    turns: list[str]
    tokens: int | None
    failed: bool
    empty: bool

    @classmethod
    def of(cls, answer: Answer) -> AnswerText:
        return cls(
            turns=list(answer.turns),
            tokens=answer.meta.token_len if answer.meta is not None else None,
            failed=answer.is_failure_marker,
            empty=answer.is_empty,
        )


@dataclass
class GameText:
    """One game of a judge: its label and, where the data has it, the judge's explanation."""

    score: str | None
    explanation: str
    problem: str

    @classmethod
    def of(cls, judgment: Judgment) -> list[GameText]:
        out = []
        for gi in range(2):
            game = judgment.game(gi)
            if game is None:
                out.append(cls(None, "", "game missing"))
                continue
            text = game.extra.get("judgment", "")
            if isinstance(text, dict):
                # arena-hard v2.0 stores the reply as {"answer": ...}
                text = text.get("answer", "")
            problem = game.extra.get("unparsed_reason") or ""
            out.append(cls(game.score, str(text or "").strip(), str(problem)))
        return out


@dataclass
class ShardJob:
    """Everything one question's shard is made of; picklable for a worker process."""

    path: Path
    key: str
    question_id: str
    cluster: str
    ko_cluster: str
    turns: list[str]
    baseline: str
    answers: dict[str, AnswerText] = field(default_factory=dict)
    games: dict[str, dict[str, list[GameText]]] = field(default_factory=dict)


def _answer_payload(a: AnswerText | None) -> dict[str, Any] | None:
    if a is None:
        return None
    return {
        "html": [render_markdown(t) for t in a.turns],
        "tokens": a.tokens,
        "failed": a.failed,
        "empty": a.empty,
    }


def shard_payload(job: ShardJob) -> dict[str, Any]:
    """The data of one question's shard, with all markdown rendered and sanitised."""
    return {
        "id": job.question_id,
        "cluster": job.cluster,
        "ko_cluster": job.ko_cluster,
        "turns": [render_markdown(t) for t in job.turns],
        "baseline": job.baseline,
        "answers": {m: _answer_payload(a) for m, a in job.answers.items()},
        "games": {
            judge: {
                model: [
                    {
                        "score": g.score,
                        "html": render_markdown(g.explanation),
                        "problem": g.problem,
                    }
                    for g in games
                ]
                for model, games in by_model.items()
            }
            for judge, by_model in job.games.items()
        },
    }


def write_shards(jobs: list[ShardJob]) -> int:
    """Render and write the shards of ``jobs``; returns the bytes written (a worker's task)."""
    return sum(write_shard(job.path, job.key, shard_payload(job)) for job in jobs)
