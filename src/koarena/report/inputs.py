"""Each input file of a site, read once: its shards rendered into the cache, its facts kept.

An answer file gives one shard per answer and, per answer, what the leaderboard and the
analysis need (style metadata, the failure and empty flags, the Korean script profile); a
judgment file gives a shard per judgment with written text and each game's label. That record
is cached under a hash of the file's bytes and the code (`koarena.report.cache`), so an
unchanged file is neither parsed nor rendered again, and a changed one re-renders only the
answers whose text changed (each shard is cached under a hash of what it shows).

`read_file` and `render_lines` are what worker processes run; a record is plain JSON data, and
`answers_of` / `judgments_of` turn records back into records of `koarena.records`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koarena.errors import DataError
from koarena.jsonl import LoadReport, iter_jsonl
from koarena.korean import ProfiledAnswer, ScriptProfile, answer_profile
from koarena.records import Answer, Game, Judgment, StyleMeta
from koarena.report.cache import BuildCache, digest, renderer_version
from koarena.report.jsdata import shard_text
from koarena.report.shards import (
    GameText,
    answer_payload,
    answer_shard,
    has_text,
    judge_payload,
    judge_shard,
)


@dataclass(frozen=True)
class FileTask:
    """One input file to read: an answer file (``judge`` None) or a judge's judgment file."""

    path: Path
    model: str
    judge: str | None
    key: str
    """The record's cache key: a hash of the file's bytes, its names and the code."""
    cache_root: Path


def read_file(task: FileTask, render: bool = True) -> dict[str, Any]:
    """Read one input file and return its record (not yet cached: see `BuildCache.put_record`,
    which must wait until every shard it names is in the cache).

    With ``render`` the shards missing from the cache are rendered here; without, their line
    numbers are listed under ``"pending"`` for `render_lines`, so that a few changed files can
    be rendered by several workers while the main process fits the leaderboards.
    """
    shards = _Shards(BuildCache(task.cache_root), render)
    report = LoadReport()
    malformed: list[tuple[int, str]] = []
    items = []
    for lineno, raw in iter_jsonl(task.path, strict=False, report=report):
        try:
            items.append(_answer(raw, task, lineno, shards) if task.judge is None
                         else _judgment(raw, task, lineno, shards))
        except DataError as exc:
            malformed.append((lineno, str(exc)))
    return {
        "malformed": sorted([*report.malformed, *malformed]),
        "torn_tail": report.torn_tail,
        "items": items,
        "rendered": shards.rendered,
        "pending": shards.pending,
    }


def render_lines(task: FileTask, lines: list[int]) -> int:
    """Render the shards of the given lines of ``task``'s file into the cache; returns how many
    were rendered (a worker's task)."""
    wanted = set(lines)
    shards = _Shards(BuildCache(task.cache_root), True)
    for lineno, raw in iter_jsonl(task.path, strict=False):
        if lineno in wanted:
            if task.judge is None:  # the answer's profile is in the record already
                _shard_answer(raw, task, lineno, shards)
            else:
                _judgment(raw, task, lineno, shards)
    return shards.rendered


class _Shards:
    """Puts shards into the cache, rendering only those not there yet (or listing them)."""

    def __init__(self, cache: BuildCache, render: bool) -> None:
        self.cache = cache
        self.render = render
        self.rendered = 0
        self.pending: list[int] = []

    def store(self, key: str, rel: str, lineno: int, payload: Callable[[], Any]) -> None:
        """Render ``payload()`` as the shard ``rel`` under ``key`` unless the cache has it
        (then no markdown is rendered at all)."""
        if self.cache.has(key):
            return
        if not self.render:
            self.pending.append(lineno)
            return
        self.cache.put(key, shard_text(rel, payload()).encode("utf-8"))
        self.rendered += 1


def _answer(raw: dict[str, Any], task: FileTask, lineno: int, shards: _Shards) -> list[Any]:
    a, key = _shard_answer(raw, task, lineno, shards)
    p = answer_profile(a)
    return [
        a.question_id,
        a.model,
        key,
        a.meta.to_dict() if a.meta is not None else None,
        a.is_failure_marker,
        a.is_empty,
        [p.letters, p.hangul, p.raw_letters, p.words, p.korean_words, p.intrusions],
        # style control counts the markdown of an answer without stored metadata
        a.turns if a.meta is None else None,
        # the leaderboard counts answers cut off or filtered (and not kept on purpose)
        [a.finish_reasons, a.extra.get("finish_policy")] if a.finish_reasons else None,
    ]


def _shard_answer(
    raw: dict[str, Any], task: FileTask, lineno: int, shards: _Shards
) -> tuple[Answer, str]:
    """The answer of one line and its shard's key, the shard put into the cache (or listed)
    where missing."""
    a = Answer.from_dict(raw, f"{task.path}:{lineno}")
    tokens = a.meta.token_len if a.meta is not None else None
    rel = answer_shard(task.model, a.question_id)
    key = digest(
        "answer", renderer_version(), task.model, rel, a.turns, tokens, a.is_failure_marker,
        a.is_empty,
    )
    shards.store(key, rel, lineno, lambda: {"model": task.model, **answer_payload(a)})
    return a, key


def _judgment(raw: dict[str, Any], task: FileTask, lineno: int, shards: _Shards) -> list[Any]:
    assert task.judge is not None
    j = Judgment.from_dict(raw, f"{task.path}:{lineno}")
    texts = GameText.of(j)
    key = None
    if has_text(texts):
        rel = judge_shard(task.judge, task.model, j.question_id)
        key = digest(
            "judgment", renderer_version(), task.judge, task.model, rel,
            [(t.explanation, t.reasoning) for t in texts],
        )
        shards.store(key, rel, lineno, lambda: judge_payload(texts))
    games = [
        None if g is None else [g.score, g.extra.get("unparsed_reason") or None] for g in j.games
    ]
    return [j.question_id, j.model, j.judge, games, key]


@dataclass(frozen=True)
class AnswerEntry:
    """One answer of a record: its facts and the cached shard that shows it."""

    answer: ProfiledAnswer
    key: str


def answers_of(record: dict[str, Any]) -> dict[str, AnswerEntry]:
    """The answers of an answer file's record by question id (a later line replaces an
    earlier one, as `Bench.load_answers` does)."""
    out: dict[str, AnswerEntry] = {}
    for qid, model, key, meta, failed, empty, prof, turns, finish in record["items"]:
        reasons, policy = finish or ([], None)
        answer = ProfiledAnswer(
            question_id=qid,
            model=model,
            turns=turns or [],
            # checked by `StyleMeta.from_dict` when the file was read; a record is keyed by
            # the file's bytes and the code, so it holds what that check let through
            meta=None if meta is None else StyleMeta(
                meta["token_len"], meta["header_count"], meta["list_count"], meta["bold_count"]
            ),
            profile=ScriptProfile(*prof),
            failed=failed,
            empty=empty,
            finish_reasons=reasons,
            extra={} if policy is None else {"finish_policy": policy},
        )
        out[qid] = AnswerEntry(answer, key)
    return out


def judgments_of(record: dict[str, Any]) -> list[tuple[Judgment, str | None]]:
    """The judgments of a judgment file's record, each with its judge shard's key or None."""
    out = []
    for qid, model, judge, games, key in record["items"]:
        parsed: list[Game | None] = [
            None if g is None else Game(g[0], {"unparsed_reason": g[1]} if g[1] else {})
            for g in games
        ]
        out.append((Judgment(qid, model, judge, parsed), key))
    return out


def check_record(record: dict[str, Any], path: Path) -> None:
    """Raise `DataError` for a malformed line, as the leaderboard's strict loading does."""
    if record["malformed"]:
        lineno, why = record["malformed"][0]
        raise DataError(why if why.startswith(str(path)) else f"{path}:{lineno}: {why}")
