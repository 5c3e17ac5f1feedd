"""`koarena data check`: what is wrong with a bench's files, per model, with counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from koarena.bench import Bench
from koarena.errors import DataError
from koarena.jsonl import LoadReport, iter_jsonl
from koarena.records import Answer, Judgment


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

    @property
    def problems(self) -> int:
        return (
            self.failure_markers + self.empty + self.missing_ids + self.duplicate_ids
            + self.unknown_ids + len(self.malformed_lines) + int(self.torn_tail)
            + self.unlabelled_games
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


def _scan(rows: list[tuple[int, str]], question_ids: set[str], rep: FileReport) -> None:
    ids = Counter(qid for _, qid in rows)
    rep.records = len(rows)
    rep.duplicate_ids = sum(c - 1 for c in ids.values() if c > 1)
    rep.unknown_ids = len(set(ids) - question_ids)
    rep.missing_ids = len(question_ids - set(ids))


def check_answers(bench: Bench, model: str, question_ids: set[str]) -> FileReport:
    path = bench.answer_file(model)
    rep = FileReport(path=str(path))
    load = LoadReport()
    rows: list[tuple[int, str]] = []
    for lineno, rec in iter_jsonl(path, strict=False, report=load):
        try:
            a = Answer.from_dict(rec, f"{path}:{lineno}")
        except DataError as exc:
            load.malformed.append((lineno, str(exc)))
            continue
        rows.append((lineno, a.question_id))
        rep.failure_markers += a.is_failure_marker
        rep.empty += a.is_empty and not a.is_failure_marker
    _scan(rows, question_ids, rep)
    rep.malformed_lines = load.malformed
    rep.torn_tail = load.torn_tail
    return rep


def check_judgments(bench: Bench, judge: str, model: str, question_ids: set[str]) -> FileReport:
    path = bench.judgment_file(judge, model)
    rep = FileReport(path=str(path))
    load = LoadReport()
    rows: list[tuple[int, str]] = []
    for lineno, rec in iter_jsonl(path, strict=False, report=load):
        try:
            j = Judgment.from_dict(rec, f"{path}:{lineno}")
        except DataError as exc:
            load.malformed.append((lineno, str(exc)))
            continue
        rows.append((lineno, j.question_id))
        games = j.games[:2] + [None] * (2 - len(j.games[:2]))
        rep.unlabelled_games += sum(
            1 for g in games if g is None or g.score not in {"A>>B", "A>B", "A=B", "B>A", "B>>A"}
        )
    _scan(rows, question_ids, rep)
    rep.malformed_lines = load.malformed
    rep.torn_tail = load.torn_tail
    return rep


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
