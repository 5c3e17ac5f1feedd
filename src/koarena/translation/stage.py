"""English bench → Korean bench: plan the translation tasks and run them on the shared runner.

Records are appended to the target's ``question.jsonl`` as they finish (resume: a question
with a record is not asked again). ``only_flagged`` re-translates the questions whose record
carries flags: their new records go to ``logs/translate_rerun.jsonl`` and are then merged into
``question.jsonl`` (the newer record per id wins; source order; written atomically). The merge
also runs at the start of every run, so a killed re-run loses nothing, and a flagged question
whose re-translation failed keeps its old record.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koarena.bench import Bench
from koarena.errors import ConfigError, DataError
from koarena.jsonl import iter_jsonl, write_jsonl_atomic
from koarena.runner.estimate import Estimate, estimate
from koarena.runner.run import RunResult, StageRunner
from koarena.runner.tasks import Task, pending_tasks, record_key
from koarena.style import count_tokens
from koarena.translation.checks import FLAGS
from koarena.translation.items import SourceItem, record_flags
from koarena.translation.judge_files import copy_judge_files
from koarena.translation.task import DEFAULT_MASK_ATTEMPTS, TranslateTask, Translator

log = logging.getLogger(__name__)

STAGE = "translate"
RERUN_FILE = "translate_rerun.jsonl"
DEFAULT_MAX_TOKENS = 8192
KOREAN_TOKEN_FACTOR = 1.72
"""cl100k tokens of Korean text per token of its English source (the v0.1 set: 81,754 /
47,644), for the dry run's expected output."""


@dataclass(frozen=True)
class TranslateSettings:
    """Decoding and protocol options of a translation run."""

    temperature: float = 0.0
    max_tokens: int = DEFAULT_MAX_TOKENS
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


def load_target(path: Path) -> dict[str, dict[str, Any]]:
    """The target's records by id; a later record replaces an earlier one."""
    if not path.is_file():
        return {}
    return {k: r for _, r in iter_jsonl(path, strict=False) if (k := record_key(r)) is not None}


def rerun_file(target: Bench) -> Path:
    """Where ``--only-flagged`` writes its records before they replace the flagged ones."""
    return target.root / "logs" / RERUN_FILE


def merge(target: Bench, order: list[str]) -> int:
    """Fold the re-run records into ``question.jsonl``: the last record per id, in source
    order (ids unknown to the source after them), written atomically only when that changes
    the file; then remove the re-run file. Returns the number of records replaced."""
    path, rerun = target.question_file, rerun_file(target)
    lines = [r for _, r in iter_jsonl(path, strict=False)] if path.is_file() else []
    newer = [r for _, r in iter_jsonl(rerun, strict=False)] if rerun.is_file() else []
    latest = {k: r for r in [*lines, *newer] if (k := record_key(r)) is not None}
    rank = {k: i for i, k in enumerate(order)}
    records = [latest[k] for k in sorted(latest, key=lambda k: (rank.get(k, len(rank)), k))]
    if records != lines:
        write_jsonl_atomic(path, records)
    rerun.unlink(missing_ok=True)
    return len(lines) + len(newer) - len(records)


def _check_names(source: Bench, target: Bench) -> None:
    if target.root.resolve() == source.root.resolve():
        raise ConfigError("the target bench must not be the source bench")


def build_tasks(items: list[SourceItem], output: Path, source: Bench, model: str,
                api_model: str, settings: TranslateSettings) -> list[Task]:
    translator = Translator(model, api_model, settings.temperature, settings.max_tokens,
                            settings.mask_attempts)
    return [TranslateTask(item, translator, output, source.name) for item in items]


def _plan(source: Bench, target: Bench, model: str, api_model: str,
          settings: TranslateSettings, only_flagged: bool) -> list[Task]:
    _check_names(source, target)
    items = load_source(source)
    output = target.question_file
    if only_flagged:
        flagged = {k for k, r in load_target(target.question_file).items() if record_flags(r)}
        items = [i for i in items if i.key in flagged]
        output = rerun_file(target)
    return build_tasks(items, output, source, model, api_model, settings)


def dry_run(source: Bench, target: Bench, model: str, settings: TranslateSettings,
            only_flagged: bool = False) -> Estimate:
    """What the run would send; the expected output is the source's tokens in Korean."""
    tasks = _plan(source, target, model, model, settings, only_flagged)
    est = estimate(tasks)
    todo, _ = pending_tasks(tasks)
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


def translate(source: Bench, target: Bench, model: str, settings: TranslateSettings,
              runner: StageRunner, *, only_flagged: bool = False) -> TranslateOutcome:
    """Translate every question of ``source`` not yet in ``target`` (or only the flagged
    ones); write the target's judge files; return the run result and the flag summary."""
    endpoint = runner.endpoints.get(model)
    if endpoint is None:
        raise ConfigError(f"model {model!r} is not in the endpoint file")
    _check_names(source, target)  # before anything is written
    order = [i.key for i in load_source(source)]
    target.root.mkdir(parents=True, exist_ok=True)
    judge_files = copy_judge_files(source, target, settings.judge_prompt,
                                   settings.korean_reference)
    replaced = merge(target, order)
    if replaced:
        log.info("%s: %d records replaced by an earlier re-run", target.question_file, replaced)
    tasks = _plan(source, target, model, endpoint.model_name, settings, only_flagged)
    result = runner.run(target, STAGE, tasks)
    merge(target, order)
    return TranslateOutcome(result, flag_summary(source, target), judge_files)
