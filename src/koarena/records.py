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
    def from_dict(cls, d: Any, where: str) -> StyleMeta:
        if not isinstance(d, dict):
            raise DataError(f"{where}: style metadata must be an object, got {_kind(d)}")
        try:
            return cls(
                token_len=_count(d["token_len"], f"{where}: token_len"),
                header_count=_count_dict(d["header_count"], f"{where}: header_count"),
                list_count=_count_dict(d["list_count"], f"{where}: list_count"),
                bold_count=_count_dict(d["bold_count"], f"{where}: bold_count"),
            )
        except KeyError as exc:
            raise DataError(f"{where}: style metadata has no {exc.args[0]}") from exc


def _kind(v: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    if v is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(v), type(v).__name__)


def _count(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise DataError(f"{what} must be a whole number of 0 or more, got {_kind(v)} {v!r:.40}")
    return v


def _count_dict(v: Any, what: str) -> dict[str, int]:
    # The original accepted a plain integer as well as a dict of sub-kinds.
    if isinstance(v, int) and not isinstance(v, bool):
        return {"total": _count(v, what)}
    if not isinstance(v, dict):
        raise DataError(f"{what} must be an object of counts or a count, got {_kind(v)}")
    return {str(k): _count(n, f"{what}.{k}") for k, n in v.items()}


def _text(d: dict[str, Any], key: str, where: str) -> str:
    """An optional string field: absent or null is ""; any other type is an error."""
    v = d.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise DataError(f"{where}: {key} must be a string, got {_kind(v)}")
    return v


def _record_id(d: dict[str, Any], where: str) -> str:
    qid = d.get("question_id", d.get("uid"))
    if not isinstance(qid, str) or not qid:
        raise DataError(f"{where}: record has no question_id/uid (a non-empty string)")
    return qid


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
        qid = _record_id(d, where)
        if "turns" in d:
            raw = d["turns"]
            if not isinstance(raw, list) or not raw:
                raise DataError(f"{where}: question {qid}: turns must be a non-empty list, "
                                f"got {_kind(raw)}")
            turns = [_turn_text(t, where) for t in raw]
        elif "prompt" in d:
            prompt = d["prompt"]
            if not isinstance(prompt, str):
                raise DataError(f"{where}: question {qid}: prompt must be a string, "
                                f"got {_kind(prompt)}")
            turns = [prompt]
        elif isinstance(d.get("messages"), list):
            turns = [_turn_text(m, where) for m in d["messages"]
                     if isinstance(m, dict) and m.get("role", "user") == "user"]
            if not turns:
                raise DataError(f"{where}: question {qid}: messages has no user turn")
        else:
            raise DataError(f"{where}: question {qid} has neither turns, prompt nor messages")
        return cls(
            question_id=qid,
            turns=turns,
            category=_text(d, "category", where),
            cluster=_text(d, "cluster", where),
            ko_cluster=_text(d, "ko_cluster", where),
            subcategory=_text(d, "subcategory", where),
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
        return _content_text(t["content"], where)
    raise DataError(f"{where}: a turn must be a string or an object with 'content', "
                    f"got {_kind(t)}")


def _content_text(c: Any, where: str) -> str:
    """A turn's or message's content: a string, null (empty), or v2.0's ``{answer: ...}``."""
    if isinstance(c, dict):
        c = c.get("answer")
    if c is None:
        return ""
    if not isinstance(c, str):
        raise DataError(f"{where}: content must be a string, got {_kind(c)}")
    return c


def _reasoning_text(c: Any, where: str) -> str:
    if c is None:
        return ""
    if not isinstance(c, str):
        raise DataError(f"{where}: reasoning must be a string, got {_kind(c)}")
    return c


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
        qid = _record_id(d, where)
        model = d.get("model_id", d.get("model"))
        if not isinstance(model, str) or not model:
            raise DataError(f"{where}: answer {qid} has no model_id/model (a non-empty string)")
        reasoning: list[str] = []
        if "choices" in d:
            choices = d["choices"]
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                raise DataError(f"{where}: answer {qid}: choices must be a non-empty list of "
                                f"objects, got {_kind(choices)}")
            raw_turns = choices[0].get("turns")
            if not isinstance(raw_turns, list):
                raise DataError(f"{where}: answer {qid}: choices[0].turns must be a list, "
                                f"got {_kind(raw_turns)}")
            turns = [_turn_text(t, where) for t in raw_turns]
            reasoning = [_reasoning_text(t.get("reasoning"), where)
                         for t in raw_turns if isinstance(t, dict)]
            finish = [t.get("finish_reason") if isinstance(t, dict) else None
                      for t in raw_turns]
            finish_reasons = [str(f) if f is not None else None for f in finish]
            if not any(finish_reasons):
                finish_reasons = []
            meta_raw = d.get("conv_metadata")
        elif "messages" in d:
            finish_reasons = []
            messages = d["messages"]
            if not isinstance(messages, list):
                raise DataError(f"{where}: answer {qid}: messages must be a list, "
                                f"got {_kind(messages)}")
            turns = []
            for m in messages:
                if not isinstance(m, dict):
                    raise DataError(f"{where}: answer {qid}: a message must be an object, "
                                    f"got {_kind(m)}")
                if m.get("role") != "assistant":
                    continue
                c = m.get("content")
                turns.append(_content_text(c, where))
                if isinstance(c, dict):
                    reasoning.append(_reasoning_text(c.get("reasoning"), where))
            meta_raw = d.get("metadata")
        else:
            raise DataError(f"{where}: answer {qid} has neither choices nor messages")
        if not any(reasoning):
            reasoning = []
        meta = StyleMeta.from_dict(meta_raw, where) if meta_raw is not None else None
        tstamp = d.get("tstamp")
        if tstamp is not None and (isinstance(tstamp, bool)
                                   or not isinstance(tstamp, int | float)):
            raise DataError(f"{where}: answer {qid}: tstamp must be a number, "
                            f"got {_kind(tstamp)}")
        answer_id = d.get("answer_id", d.get("ans_id"))
        if answer_id is not None and not isinstance(answer_id, str | int):
            raise DataError(f"{where}: answer {qid}: answer_id must be a string, "
                            f"got {_kind(answer_id)}")
        known = {"question_id", "uid", "answer_id", "ans_id", "model_id", "model", "choices",
                 "messages", "tstamp", "conv_metadata", "metadata"}
        return cls(
            question_id=qid,
            model=model,
            turns=turns,
            answer_id="" if answer_id is None else str(answer_id),
            tstamp=float(tstamp or 0.0),
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
        qid = _record_id(d, where)
        model = d.get("model")
        if not isinstance(model, str) or not model:
            raise DataError(f"{where}: judgment {qid} has no model (a non-empty string)")
        raw_games = d.get("games")
        if not isinstance(raw_games, list):
            raise DataError(f"{where}: judgment {qid}: games must be a list, "
                            f"got {_kind(raw_games)}")
        games: list[Game | None] = []
        for g in raw_games:
            if g is None:
                games.append(None)
                continue
            if not isinstance(g, dict):
                raise DataError(f"{where}: judgment {qid}: a game must be an object or null, "
                                f"got {_kind(g)}")
            score = g.get("score")
            if score is not None and not isinstance(score, str):
                raise DataError(f"{where}: judgment {qid}: a game's score must be a string "
                                f"or null, got {_kind(score)}")
            games.append(Game(score=score, extra={k: v for k, v in g.items() if k != "score"}))
        known = {"question_id", "uid", "model", "judge", "games"}
        return cls(
            question_id=qid,
            model=model,
            judge=_text(d, "judge", where),
            games=games,
            extra={k: v for k, v in d.items() if k not in known},
        )

    @property
    def verdicts(self) -> tuple[str | None, ...]:
        """The games' labels (None for a game without one): what duplicates are compared on."""
        return tuple(g.score if g is not None else None for g in self.games)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "model": self.model,
            "judge": self.judge,
            "games": [g.to_dict() if g is not None else None for g in self.games],
            **self.extra,
        }
