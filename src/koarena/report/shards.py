"""Data shards of the judgment browser: what one view needs, rendered once at build time.

The browser shows one question with the baseline's and one model's answer, so the data is cut
the same way, and a view downloads only what it shows:

- ``data/q/<q>.js``: the question, rendered;
- ``data/a/<m>/<q>.js``: one model's answer to it (the baseline's is one of these too);
- ``data/j/<judge>/<m>/<q>.js``: a judge's written explanation and reasoning for both games,
  only where the judgment records have text, and loaded only when the reader opens them.

Game labels are not in these shards: every label is in ``data/index.js`` already (two letters a
judgment). ``<q>``, ``<m>`` and ``<judge>`` are short hashes of the question id, model and judge
name (`name_key`), so that a shard keeps its name when models are added and no name from the
data ever becomes a path. All text in a shard that the browser inserts as HTML has been through
`render_markdown`; everything else (names, labels, counts) is inserted as text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from koarena.records import Answer, Judgment, Question
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


def name_key(name: str) -> str:
    """A short, path-safe and stable stand-in for a question id, model or judge name.

    >>> name_key("gpt-4o")
    'a2a69af70d1b9be7'
    """
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]


def question_shard(q: Question) -> str:
    return f"q/{name_key(q.question_id)}.js"


def answer_shard(model: str, question_id: str) -> str:
    return f"a/{name_key(model)}/{name_key(question_id)}.js"


def judge_shard(judge: str, model: str, question_id: str) -> str:
    return f"j/{name_key(judge)}/{name_key(model)}/{name_key(question_id)}.js"


def question_payload(q: Question) -> dict[str, Any]:
    """The question's shard: its turns rendered and sanitised."""
    return {
        "id": q.question_id,
        "cluster": q.cluster,
        "ko_cluster": q.ko_cluster,
        "turns": [render_markdown(t) for t in q.turns],
    }


def answer_payload(a: Answer) -> dict[str, Any]:
    """One answer's shard: every turn rendered and sanitised, with its flags."""
    return {
        "html": [render_markdown(t) for t in a.turns],
        "tokens": a.meta.token_len if a.meta is not None else None,
        "failed": a.is_failure_marker,
        "empty": a.is_empty,
    }


@dataclass
class GameText:
    """One game of a judge: its label, the judge's written explanation where the data has one,
    why no label was read, and the judge's reasoning (a reasoning model's thinking, which the
    records keep apart from the reply), one entry per reply."""

    score: str | None
    explanation: str
    problem: str
    reasoning: list[str] = field(default_factory=list)

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
            raw = game.extra.get("judge_reasoning")
            reasoning = [str(r).strip() for r in raw] if isinstance(raw, list) else []
            out.append(
                cls(game.score, str(text or "").strip(), str(problem), [r for r in reasoning if r])
            )
        return out


def has_text(games: list[GameText]) -> bool:
    """Whether a judgment has anything for a judge shard."""
    return any(g.explanation or g.reasoning for g in games)


def judge_payload(games: list[GameText]) -> dict[str, Any]:
    """A judgment's shard: each game's explanation and reasoning, rendered and sanitised."""
    return {
        "games": [
            {
                "html": render_markdown(g.explanation),
                "reasoning": [render_markdown(r) for r in g.reasoning],
            }
            for g in games
        ]
    }
