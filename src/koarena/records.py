"""Typed records of the arena-hard file formats.

Both formats are read: v0.1 (``question_id``, ``turns``, ``choices[].turns[]``,
``conv_metadata``, ``games[].score``) as used by Ko-Arena-Hard, and v2.0 (``uid``, ``prompt``,
``messages``, ``metadata``). Records are written in v0.1, the format of the published data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from koarena.errors import DataError
from koarena.finish import finish_problem

FAILURE_MARKER = "$ERROR$"
"""What the original tool wrote as the answer text of a failed API call."""


@dataclass(frozen=True)
class StyleMeta:
    """Answer length and markdown counts used by style control."""

    token_len: int
    header_count: dict[str, int]
    list_count: dict[str, int]
    bold_count: dict[str, int]

    @property
    def headers(self) -> int:
        return sum(self.header_count.values())

    @property
    def lists(self) -> int:
        return sum(self.list_count.values())

    @property
    def bolds(self) -> int:
        return sum(self.bold_count.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_len": self.token_len,
            "header_count": dict(self.header_count),
            "list_count": dict(self.list_count),
            "bold_count": dict(self.bold_count),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> StyleMeta:
        try:
            return cls(
                token_len=int(d["token_len"]),
                header_count=_count_dict(d["header_count"]),
                list_count=_count_dict(d["list_count"]),
                bold_count=_count_dict(d["bold_count"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{where}: invalid style metadata ({exc})") from exc


def _count_dict(v: Any) -> dict[str, int]:
    # The original accepted a plain integer as well as a dict of sub-kinds.
    if isinstance(v, int):
        return {"total": v}
    return {str(k): int(n) for k, n in v.items()}


@dataclass(frozen=True)
class Question:
    """One benchmark prompt; ``turns`` are the user turns of a multi-turn conversation."""

    question_id: str
    turns: list[str]
    category: str = ""
    cluster: str = ""
    ko_cluster: str = ""
    subcategory: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> Question:
        qid = d.get("question_id", d.get("uid"))
        if not isinstance(qid, str) or not qid:
            raise DataError(f"{where}: record has no question_id/uid")
        if "turns" in d:
            turns = [_turn_text(t, where) for t in d["turns"]]
        elif "prompt" in d:
            turns = [str(d["prompt"])]
        else:
            raise DataError(f"{where}: question {qid} has neither turns nor prompt")
        return cls(
            question_id=qid,
            turns=turns,
            category=str(d.get("category", "")),
            cluster=str(d.get("cluster", "")),
            ko_cluster=str(d.get("ko_cluster", "")),
            subcategory=str(d.get("subcategory", "")),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question_id": self.question_id,
            "category": self.category,
            "cluster": self.cluster,
            "turns": [{"content": t} for t in self.turns],
        }
        if self.ko_cluster:
            out["ko_cluster"] = self.ko_cluster
        if self.subcategory:
            out["subcategory"] = self.subcategory
        return out


def _turn_text(t: Any, where: str) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, dict) and "content" in t:
        c = t["content"]
        if isinstance(c, dict):
            return str(c.get("answer", ""))
        return "" if c is None else str(c)
    raise DataError(f"{where}: a turn must be a string or an object with 'content'")


@dataclass(frozen=True)
class Answer:
    """A model's successful answer to one question (first choice).

    ``reasoning`` holds a reasoning model's thinking per turn; it is stored but never judged
    and never counted in ``meta``. ``finish_reasons`` holds the provider's finish reason per
    turn (``choices[0].turns[i].finish_reason``), where it was recorded.
    """

    question_id: str
    model: str
    turns: list[str]
    answer_id: str = ""
    tstamp: float = 0.0
    meta: StyleMeta | None = None
    reasoning: list[str] = field(default_factory=list)
    finish_reasons: list[str | None] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finish_problem(self) -> str | None:
        """``truncated`` or ``filtered`` when a turn did not end on its own, else None."""
        problems = [finish_problem(r) for r in self.finish_reasons]
        return next((p for p in problems if p is not None), None)

    @property
    def finish_accepted(self) -> bool:
        """The run kept a cut-off or filtered answer on purpose (``finish_policy: keep``)."""
        return self.extra.get("finish_policy") == "keep"

    @property
    def text(self) -> str:
        """The last assistant turn: what the judge compares."""
        return self.turns[-1] if self.turns else ""

    @property
    def is_failure_marker(self) -> bool:
        return any(t.strip() == FAILURE_MARKER for t in self.turns)

    @property
    def is_empty(self) -> bool:
        return not self.turns or all(not t.strip() for t in self.turns)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> Answer:
        qid = d.get("question_id", d.get("uid"))
        if not isinstance(qid, str) or not qid:
            raise DataError(f"{where}: record has no question_id/uid")
        model = d.get("model_id", d.get("model"))
        if not isinstance(model, str) or not model:
            raise DataError(f"{where}: answer {qid} has no model_id/model")
        reasoning: list[str] = []
        if "choices" in d:
            try:
                raw_turns = d["choices"][0]["turns"]
            except (IndexError, KeyError, TypeError) as exc:
                raise DataError(f"{where}: answer {qid} has no choices[0].turns") from exc
            turns = [_turn_text(t, where) for t in raw_turns]
            reasoning = [
                str(t.get("reasoning", "")) for t in raw_turns if isinstance(t, dict)
            ]
            finish = [t.get("finish_reason") if isinstance(t, dict) else None
                      for t in raw_turns]
            finish_reasons = [str(f) if f is not None else None for f in finish]
            if not any(finish_reasons):
                finish_reasons = []
            if not any(reasoning):
                reasoning = []
            meta_raw = d.get("conv_metadata")
        elif "messages" in d:
            finish_reasons = []
            turns = []
            for m in d["messages"]:
                if m.get("role") != "assistant":
                    continue
                c = m.get("content")
                if isinstance(c, dict):
                    turns.append(str(c.get("answer", "")))
                    reasoning.append(str(c.get("reasoning", "") or ""))
                else:
                    turns.append("" if c is None else str(c))
            if not any(reasoning):
                reasoning = []
            meta_raw = d.get("metadata")
        else:
            raise DataError(f"{where}: answer {qid} has neither choices nor messages")
        meta = StyleMeta.from_dict(meta_raw, where) if meta_raw else None
        known = {"question_id", "uid", "answer_id", "ans_id", "model_id", "model", "choices",
                 "messages", "tstamp", "conv_metadata", "metadata"}
        return cls(
            question_id=qid,
            model=model,
            turns=turns,
            answer_id=str(d.get("answer_id", d.get("ans_id", ""))),
            tstamp=float(d.get("tstamp", 0.0) or 0.0),
            meta=meta,
            reasoning=reasoning,
            finish_reasons=finish_reasons,
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        """The v0.1 answer record."""
        turns: list[dict[str, Any]] = []
        for i, t in enumerate(self.turns):
            turn: dict[str, Any] = {"content": t}
            if i < len(self.reasoning) and self.reasoning[i]:
                turn["reasoning"] = self.reasoning[i]
            if i < len(self.finish_reasons) and self.finish_reasons[i] is not None:
                turn["finish_reason"] = self.finish_reasons[i]
            turns.append(turn)
        out: dict[str, Any] = {
            "question_id": self.question_id,
            "answer_id": self.answer_id,
            "model_id": self.model,
            "choices": [{"index": 0, "turns": turns}],
            "tstamp": self.tstamp,
        }
        if self.meta is not None:
            out["conv_metadata"] = self.meta.to_dict()
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class Game:
    """One of the two games of a judgment. ``score`` is the verdict label or None."""

    score: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finish_problem(self) -> str | None:
        """``truncated`` or ``filtered`` when the judge's last reply (the one the verdict is
        read from) did not end on its own; earlier replies get arena-hard's follow-up turn."""
        reasons = self.extra.get("finish_reasons")
        if not isinstance(reasons, list) or not reasons:
            return None
        last = reasons[-1]
        return finish_problem(last if isinstance(last, str) else None)

    @property
    def finish_accepted(self) -> bool:
        """The run kept a cut-off or filtered reply on purpose (``finish_policy: keep``)."""
        return self.extra.get("finish_policy") == "keep"

    def to_dict(self) -> dict[str, Any]:
        return {**self.extra, "score": self.score}


@dataclass(frozen=True)
class Judgment:
    """A judge's two games on one question: game 1 baseline as A, game 2 baseline as B."""

    question_id: str
    model: str
    judge: str
    games: list[Game | None]
    extra: dict[str, Any] = field(default_factory=dict)

    def game(self, index: int) -> Game | None:
        """Game ``index`` (0 or 1), or None if the record lacks it."""
        return self.games[index] if 0 <= index < len(self.games) else None

    def label(self, index: int) -> str | None:
        """The label of game ``index`` as the judge gave it (not checked), or None."""
        game = self.game(index)
        return game.score if game is not None else None

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str) -> Judgment:
        qid = d.get("question_id", d.get("uid"))
        if not isinstance(qid, str) or not qid:
            raise DataError(f"{where}: record has no question_id/uid")
        model = d.get("model")
        if not isinstance(model, str) or not model:
            raise DataError(f"{where}: judgment {qid} has no model")
        raw_games = d.get("games")
        if not isinstance(raw_games, list):
            raise DataError(f"{where}: judgment {qid} has no games list")
        games: list[Game | None] = []
        for g in raw_games:
            if not isinstance(g, dict):
                games.append(None)
                continue
            score = g.get("score")
            games.append(
                Game(
                    score=score if isinstance(score, str) else None,
                    extra={k: v for k, v in g.items() if k != "score"},
                )
            )
        known = {"question_id", "uid", "model", "judge", "games"}
        return cls(
            question_id=qid,
            model=model,
            judge=str(d.get("judge", "")),
            games=games,
            extra={k: v for k, v in d.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "model": self.model,
            "judge": self.judge,
            "games": [g.to_dict() if g is not None else None for g in self.games],
            **self.extra,
        }
