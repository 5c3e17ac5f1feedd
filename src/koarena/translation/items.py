"""Source questions as lists of turns to translate, and translated records in the same shape.

A translated record keeps the source record's format and every field but the texts, so that
the Korean bench reads like its source in any arena-hard tool: v0.1 ``question_id`` +
``turns: [{content}]``, v2.0 ``uid`` + ``prompt``, or ``messages: [{role, content}]`` (each
message translated, turn by turn). What made the translation is added under
``translation``: the source bench and texts, the translator, the prompt hash, and the checks of
every turn with the item's flags.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from koarena.errors import DataError
from koarena.runner.tasks import record_key
from koarena.translation.checks import TurnChecks, item_flags

TRANSLATION_KEY = "translation"


@dataclass(frozen=True)
class SourceItem:
    """One source question: its id, its raw record and the texts to translate in order."""

    key: str
    record: dict[str, Any]
    turns: list[str]

    @classmethod
    def from_record(cls, record: dict[str, Any], where: str) -> SourceItem:
        key = record_key(record)
        if not key:
            raise DataError(f"{where}: record has no question_id/uid")
        if "turns" in record:
            turns = [_turn_text(t, where) for t in record["turns"]]
        elif "messages" in record:
            turns = [_turn_text(m, where) for m in record["messages"]]
        elif "prompt" in record:
            turns = [str(record["prompt"])]
        else:
            raise DataError(f"{where}: question {key} has neither turns, messages nor prompt")
        if not turns:
            raise DataError(f"{where}: question {key} has no text")
        return cls(key=key, record=record, turns=turns)

    @property
    def category(self) -> str:
        return str(self.record.get("category", ""))

    def translated(self, texts: list[str], info: dict[str, Any]) -> dict[str, Any]:
        """The source record with ``texts`` in place of its turns and ``info`` attached."""
        if len(texts) != len(self.turns):
            raise ValueError(f"{self.key}: {len(texts)} translations for {len(self.turns)} turns")
        out = copy.deepcopy(self.record)
        out.pop(TRANSLATION_KEY, None)
        if "turns" in out:
            out["turns"] = [_with_text(t, s) for t, s in zip(out["turns"], texts, strict=True)]
        elif "messages" in out:
            out["messages"] = [_with_text(m, s)
                               for m, s in zip(out["messages"], texts, strict=True)]
        else:
            out["prompt"] = texts[0]
        out[TRANSLATION_KEY] = info
        return out


def _turn_text(t: Any, where: str) -> str:
    if isinstance(t, str):
        return t
    if isinstance(t, dict) and isinstance(t.get("content"), str):
        return str(t["content"])
    raise DataError(f"{where}: a turn must be a string or an object with a string 'content'")


def _with_text(turn: Any, text: str) -> Any:
    if isinstance(turn, dict):
        return {**turn, "content": text}
    return text


@dataclass(frozen=True)
class TranslationInfo:
    """The ``translation`` block of a translated record."""

    source_bench: str
    source: list[str]
    translator: str
    translator_model: str
    prompt_hash: str
    temperature: float
    requests: int
    checks: list[TurnChecks]
    tstamp: float

    @property
    def flags(self) -> list[str]:
        return item_flags(self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source_bench": self.source_bench,
            "source": list(self.source),
            "translator": self.translator,
            "translator_model": self.translator_model,
            "prompt_hash": self.prompt_hash,
            "temperature": self.temperature,
            "requests": self.requests,
            "tstamp": self.tstamp,
            "checks": [c.to_dict() for c in self.checks],
            "flags": self.flags,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> TranslationInfo | None:
        """The block of a translated record; None for a record without one."""
        d = record.get(TRANSLATION_KEY)
        if not isinstance(d, dict):
            return None
        return cls(
            source_bench=str(d.get("source_bench", "")),
            source=[str(s) for s in d.get("source", [])],
            translator=str(d.get("translator", "")),
            translator_model=str(d.get("translator_model", "")),
            prompt_hash=str(d.get("prompt_hash", "")),
            temperature=float(d.get("temperature", 0.0)),
            requests=int(d.get("requests", 0)),
            checks=[TurnChecks.from_dict(c) for c in d.get("checks", [])],
            tstamp=float(d.get("tstamp", 0.0)),
        )


def record_flags(record: dict[str, Any]) -> list[str]:
    """The flags a translated record carries (empty for one without a translation block)."""
    info = record.get(TRANSLATION_KEY)
    flags = info.get("flags") if isinstance(info, dict) else None
    return [str(f) for f in flags] if isinstance(flags, list) else []
