"""English bench → Korean bench: plan the translation tasks and run them on the shared runner.

Records are appended to the target's ``question.jsonl`` as they finish (resume: a question
with a record is not asked again). ``only_flagged`` re-translates the questions whose record
carries flags; the new record is appended after the old one and the file is compacted (last
record per id, in source order, written atomically) before and after every run, so that a
killed re-run leaves at worst a duplicate that the next run removes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from koarena.bench import Bench
from koarena.config import ModelEndpoint
from koarena.engine import (
    Estimate,
    ProviderFactory,
    ProviderPool,
    RetryPolicy,
    RunOptions,
    RunResult,
    Task,
    estimate,
    failure_log_path,
    pending_tasks,
    run_async,
    run_summary_path,
    run_tasks,
)
from koarena.errors import ConfigError, DataError
from koarena.jsonl import iter_jsonl, write_jsonl_atomic
from koarena.style import count_tokens
from koarena.translation.checks import FLAGS
from koarena.translation.items import SourceItem, record_flags
from koarena.translation.judge_files import copy_judge_files
from koarena.translation.task import DEFAULT_MASK_ATTEMPTS, TranslateTask

log = logging.getLogger(__name__)

STAGE = "translate"
KOREAN_TOKEN_FACTOR = 1.72
"""cl100k tokens of Korean text per token of its English source (the v0.1 set: 81,754 /
47,644), for the dry run's expected output."""


@dataclass(frozen=True)
class TranslateSettings:
    """Decoding and protocol options of a translation run."""

    temperature: float = 0.0
    max_tokens: int = 8192
    mask_attempts: int = DEFAULT_MASK_ATTEMPTS
    judge_prompt: str = "korean"
    korean_reference: Path | None = None


@dataclass
class FlagSummary:
    """The target bench after a run: how many of the source's questions it has, flagged how."""

    source: int
    translated: int
    flagged: int = 0
    by_flag: Counter[str] = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "translated": self.translated, "flagged": self.flagged,
                "by_flag": {f: self.by_flag[f] for f in FLAGS if self.by_flag[f]}}


@dataclass
class TranslateOutcome:
    result: RunResult
    summary: FlagSummary
    judge_files: list[Path]


def load_source(bench: Bench) -> list[SourceItem]:
    """The source bench's questions as items to translate, in file order."""
    bench.require()
    items: list[SourceItem] = []
    seen: set[str] = set()
    for lineno, rec in iter_jsonl(bench.question_file):
        item = SourceItem.from_record(rec, f"{bench.question_file}:{lineno}")
        if item.key in seen:
            raise DataError(f"{bench.question_file}:{lineno}: duplicate id {item.key}")
        seen.add(item.key)
        items.append(item)
    return items


def _key(record: dict[str, Any]) -> str | None:
    k = record.get("question_id", record.get("uid"))
    return k if isinstance(k, str) else None


def load_target(path: Path) -> dict[str, dict[str, Any]]:
    """The target's records by id; a later record replaces an earlier one."""
    if not path.is_file():
        return {}
    return {k: r for _, r in iter_jsonl(path, strict=False) if (k := _key(r)) is not None}


def compact(path: Path, order: list[str]) -> int:
    """Keep the last record per id, in source order (ids unknown to the source after them);
    rewrite ``path`` only when that changes it. Returns the number of records dropped."""
    if not path.is_file():
        return 0
    lines = [r for _, r in iter_jsonl(path, strict=False)]
    latest = load_target(path)
    rank = {k: i for i, k in enumerate(order)}
    ids = sorted(latest, key=lambda k: (rank.get(k, len(rank)), k))
    records = [latest[k] for k in ids]
    if records != lines:
        write_jsonl_atomic(path, records)
    return len(lines) - len(records)


def _check_names(source: Bench, target: Bench) -> None:
    if target.root.resolve() == source.root.resolve():
        raise ConfigError("the target bench must not be the source bench")


def build_tasks(items: list[SourceItem], target: Bench, source: Bench, model: str,
                api_model: str, settings: TranslateSettings) -> list[Task]:
    return [TranslateTask(item, model, api_model, target.question_file, source.name,
                          settings.temperature, settings.max_tokens, settings.mask_attempts)
            for item in items]


def _plan(source: Bench, target: Bench, model: str, api_model: str,
          settings: TranslateSettings, only_flagged: bool
          ) -> tuple[list[Task], Callable[[dict[str, Any]], str | None]]:
    _check_names(source, target)
    items = load_source(source)
    if only_flagged:
        flagged = {k for k, r in load_target(target.question_file).items() if record_flags(r)}
        items = [i for i in items if i.key in flagged]

        def key(record: dict[str, Any]) -> str | None:
            return None if record_flags(record) else _key(record)
    else:
        key = _key
    return build_tasks(items, target, source, model, api_model, settings), key


def dry_run(source: Bench, target: Bench, model: str, settings: TranslateSettings,
            only_flagged: bool = False) -> Estimate:
    """What the run would send; the expected output is the source's tokens in Korean."""
    tasks, key = _plan(source, target, model, model, settings, only_flagged)
    est = estimate(tasks, key)
    todo, _ = pending_tasks(tasks, key)
    est.expected_output_tokens[model] = sum(
        min(req.max_tokens or 0,
            round(KOREAN_TOKEN_FACTOR * count_tokens(req.messages[-1].content)))
        for t in todo for req in t.planned_requests())
    return est


def flag_summary(source: Bench, target: Bench) -> FlagSummary:
    """Counts over the target's records (all of them, not just this run's)."""
    order = [i.key for i in load_source(source)]
    records = load_target(target.question_file)
    summary = FlagSummary(source=len(order), translated=sum(1 for k in order if k in records))
    for k in order:
        flags = record_flags(records[k]) if k in records else []
        if flags:
            summary.flagged += 1
            summary.by_flag.update(flags)
    return summary


def translate(source: Bench, target: Bench, model: str,
              endpoints: dict[str, ModelEndpoint], settings: TranslateSettings, *,
              only_flagged: bool = False, retry: RetryPolicy | None = None,
              progress: bool = True, console: Console | None = None,
              factory: ProviderFactory | None = None) -> TranslateOutcome:
    """Translate every question of ``source`` not yet in ``target`` (or only the flagged
    ones); write the target's judge files; return the run result and the flag summary."""
    if model not in endpoints:
        raise ConfigError(f"model {model!r} is not in the endpoint file")
    _check_names(source, target)  # before anything is written
    order = [i.key for i in load_source(source)]
    target.root.mkdir(parents=True, exist_ok=True)
    judge_files = copy_judge_files(source, target, settings.judge_prompt,
                                   settings.korean_reference)
    dropped = compact(target.question_file, order)
    if dropped:
        log.info("%s: removed %d superseded records", target.question_file, dropped)
    tasks, key = _plan(source, target, model, endpoints[model].model_name, settings,
                       only_flagged)
    options = RunOptions(stage=STAGE, failure_log=failure_log_path(target, STAGE),
                         summary_file=run_summary_path(target), record_key=key,
                         progress=progress, console=console)

    async def go() -> RunResult:
        pool = ProviderPool(endpoints, factory=factory, retry=retry)
        try:
            return await run_tasks(tasks, pool, options)
        finally:
            await pool.aclose()

    result = run_async(go())
    compact(target.question_file, order)
    return TranslateOutcome(result, flag_summary(source, target), judge_files)
