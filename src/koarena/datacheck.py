"""`koarena data check`: what is wrong with a bench's files, per model, with counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from koarena.bench import Bench
from koarena.flagged import Flagged
from koarena.jsonl import LoadReport
from koarena.verdicts import is_label


@dataclass
class FileReport:
    """Problems found in one answer or judgment file."""

    path: str
    records: int = 0
    missing_ids: int = 0
    duplicate_ids: int = 0
    unknown_ids: int = 0
    malformed_lines: list[tuple[int, str]] = field(default_factory=list)
    torn_tail: bool = False
    unlabelled_games: int = 0
    flagged: Flagged = field(default_factory=Flagged)
    """The file's flagged answers (or judge replies)."""

    @property
    def problems(self) -> int:
        return (
            self.missing_ids + self.duplicate_ids + self.unknown_ids
            + len(self.malformed_lines) + int(self.torn_tail) + self.unlabelled_games
            + self.flagged.total
        )


@dataclass
class CheckReport:
    questions: int
    answers: dict[str, FileReport]
    judgments: dict[str, dict[str, FileReport]]
    question_file: FileReport | None = None

    @property
    def problems(self) -> int:
        return (
            sum(r.problems for r in self.answers.values())
            + sum(r.problems for js in self.judgments.values() for r in js.values())
            + (self.question_file.problems if self.question_file is not None else 0)
        )


def _file_report(path: Path, ids: list[str], question_ids: set[str], load: LoadReport
                 ) -> FileReport:
    """The counts every file has: records, missing, duplicate and unknown question ids,
    malformed lines and a torn tail (``load`` is what the lenient load skipped)."""
    return FileReport(
        path=str(path),
        records=len(ids) + load.duplicates,
        duplicate_ids=load.duplicates,
        unknown_ids=len(set(ids) - question_ids),
        missing_ids=len(question_ids - set(ids)),
        malformed_lines=load.malformed,
        torn_tail=load.torn_tail,
    )


def check_answers(bench: Bench, model: str, question_ids: set[str]) -> FileReport:
    """Load ``model``'s answers as every command does, but leniently, and count problems."""
    load = LoadReport()
    answers = bench.load_answers(model, strict=False, report=load)
    rep = _file_report(bench.answer_file(model), list(answers), question_ids, load)
    rep.flagged = Flagged.of_answers(answers.values())
    return rep


def check_judgments(bench: Bench, judge: str, model: str, question_ids: set[str]) -> FileReport:
    """Load ``judge``'s judgments of ``model`` leniently and count problems."""
    load = LoadReport()
    judgments = bench.load_judgments(judge, model, strict=False, report=load)
    rep = _file_report(bench.judgment_file(judge, model), [j.question_id for j in judgments],
                       question_ids, load)
    for j in judgments:
        rep.unlabelled_games += sum(1 for gi in range(2) if not is_label(j.label(gi)))
        for g in j.games[:2]:
            if g is not None:
                rep.flagged.add_finish(g.finish_problem, g.finish_accepted)
    return rep


def check_bench(bench: Bench) -> CheckReport:
    """Scan every answer and judgment file of ``bench`` leniently and count problems."""
    question_report = LoadReport()
    questions = bench.load_questions(strict=False, report=question_report)
    qids = {q.question_id for q in questions}
    answers = {m: check_answers(bench, m, qids) for m in bench.answer_models()}
    judgments = {
        j: {m: check_judgments(bench, j, m, qids) for m in bench.judged_models(j)}
        for j in bench.judges()
    }
    return CheckReport(questions=len(questions), answers=answers, judgments=judgments,
                       question_file=_file_report(bench.question_file, list(qids), qids,
                                                  question_report))
