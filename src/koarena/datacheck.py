"""`koarena data check`: what is wrong with a bench's files, per model, with counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from koarena.bench import Bench
from koarena.errors import DataError
from koarena.finish import TRUNCATED
from koarena.jsonl import LoadReport, iter_jsonl
from koarena.records import Answer, Judgment
from koarena.verdicts import is_label


@dataclass
class FileReport:
    """Problems found in one answer or judgment file."""

    path: str
    records: int = 0
    failure_markers: int = 0
    empty: int = 0
    missing_ids: int = 0
    duplicate_ids: int = 0
    unknown_ids: int = 0
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)
    torn_tail: bool = False
    unlabelled_games: int = 0
    truncated: int = 0
    """Answers (or judge replies) cut off by the token limit (``finish_reason: length``…)."""
    filtered: int = 0
    """Answers (or judge replies) stopped by a content filter."""
    kept: int = 0
    """Cut-off or filtered ones the run kept on purpose (``finish_policy: keep``): listed, not
    counted as problems."""

    @property
    def problems(self) -> int:
        return (
            self.failure_markers + self.empty + self.missing_ids + self.duplicate_ids
            + self.unknown_ids + len(self.malformed_lines) + int(self.torn_tail)
            + self.unlabelled_games + self.truncated + self.filtered
        )


@dataclass
class CheckReport:
    questions: int
    answers: dict[str, FileReport]
    judgments: dict[str, dict[str, FileReport]]

    @property
    def problems(self) -> int:
        return sum(r.problems for r in self.answers.values()) + sum(
            r.problems for js in self.judgments.values() for r in js.values()
        )


R = TypeVar("R", Answer, Judgment)


def _check_file(
    path: Path,
    parse: Callable[[dict[str, Any], str], R],
    question_ids: set[str],
    count: Callable[[R, FileReport], None],
) -> FileReport:
    """Parse ``path`` leniently into records, letting ``count`` tally record-level problems,
    then count malformed and torn lines and missing, duplicate and unknown question ids."""
    rep = FileReport(path=str(path))
    load = LoadReport()
    ids: Counter[str] = Counter()
    for lineno, rec in iter_jsonl(path, strict=False, report=load):
        try:
            record = parse(rec, f"{path}:{lineno}")
        except DataError as exc:
            load.malformed.append((lineno, str(exc)))
            continue
        ids[record.question_id] += 1
        count(record, rep)
    rep.records = sum(ids.values())
    rep.duplicate_ids = sum(c - 1 for c in ids.values() if c > 1)
    rep.unknown_ids = len(set(ids) - question_ids)
    rep.missing_ids = len(question_ids - set(ids))
    rep.malformed_lines = load.malformed
    rep.torn_tail = load.torn_tail
    return rep


def _count_finish(problem: str | None, accepted: bool, rep: FileReport) -> None:
    if problem is None:
        return
    if accepted:
        rep.kept += 1
    elif problem == TRUNCATED:
        rep.truncated += 1
    else:
        rep.filtered += 1


def _count_answer(a: Answer, rep: FileReport) -> None:
    rep.failure_markers += a.is_failure_marker
    rep.empty += a.is_empty and not a.is_failure_marker
    _count_finish(a.finish_problem, a.finish_accepted, rep)


def _count_judgment(j: Judgment, rep: FileReport) -> None:
    rep.unlabelled_games += sum(1 for gi in range(2) if not is_label(j.label(gi)))
    for g in j.games[:2]:
        if g is not None:
            _count_finish(g.finish_problem, g.finish_accepted, rep)


def check_answers(bench: Bench, model: str, question_ids: set[str]) -> FileReport:
    return _check_file(bench.answer_file(model), Answer.from_dict, question_ids, _count_answer)


def check_judgments(bench: Bench, judge: str, model: str, question_ids: set[str]) -> FileReport:
    return _check_file(
        bench.judgment_file(judge, model), Judgment.from_dict, question_ids, _count_judgment
    )


def check_bench(bench: Bench) -> CheckReport:
    """Scan every answer and judgment file of ``bench`` leniently and count problems."""
    questions = bench.load_questions()
    qids = {q.question_id for q in questions}
    answers = {m: check_answers(bench, m, qids) for m in bench.answer_models()}
    judgments = {
        j: {m: check_judgments(bench, j, m, qids) for m in bench.judged_models(j)}
        for j in bench.judges()
    }
    return CheckReport(questions=len(questions), answers=answers, judgments=judgments)
