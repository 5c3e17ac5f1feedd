"""A benchmark bundle on disk, in the arena-hard layout.

``<data_dir>/<bench>/question.jsonl``, ``model_answer/<model>.jsonl``,
``model_judgment/<judge>/<model>.jsonl`` and the bench's ``judge_config.yaml``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koarena.errors import DataError, UnsafeNameError
from koarena.jsonl import LoadReport, iter_jsonl
from koarena.records import Answer, Judgment, Question
from koarena.yamlfile import load_mapping

log = logging.getLogger(__name__)

DEFAULT_BENCH = "ko-arena-hard-v0.1"
DATA_DIR_ENV = "KOARENA_DATA_DIR"


def resolve_data_dir(cli_value: str | os.PathLike[str] | None) -> Path:
    """``--data-dir``, else ``$KOARENA_DATA_DIR``, else ``./data``."""
    if cli_value:
        return Path(cli_value)
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    return Path("data")


def check_name(name: str, what: str = "model") -> str:
    """Reject names that cannot safely be a single file name inside the data directory."""
    if (
        not name
        or name in {".", ".."}
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
        or any(ord(c) < 32 for c in name)
    ):
        raise UnsafeNameError(f"unsafe {what} name {name!r}: it must be a plain file name")
    return name


@dataclass(frozen=True)
class Bench:
    """Paths and loaders of one benchmark inside a data directory."""

    data_dir: Path
    name: str = DEFAULT_BENCH

    def __post_init__(self) -> None:
        check_name(self.name, "bench")

    @property
    def root(self) -> Path:
        return self.data_dir / self.name

    @property
    def question_file(self) -> Path:
        return self.root / "question.jsonl"

    @property
    def answer_dir(self) -> Path:
        return self.root / "model_answer"

    @property
    def judgment_root(self) -> Path:
        return self.root / "model_judgment"

    @property
    def judge_config_file(self) -> Path:
        return self.root / "judge_config.yaml"

    def answer_file(self, model: str) -> Path:
        return self.answer_dir / f"{check_name(model)}.jsonl"

    def judgment_dir(self, judge: str) -> Path:
        return self.judgment_root / check_name(judge, "judge")

    def judgment_file(self, judge: str, model: str) -> Path:
        return self.judgment_dir(judge) / f"{check_name(model)}.jsonl"

    def require(self) -> None:
        """Raise a clear error when the bench directory or its questions are missing."""
        if not self.root.is_dir():
            raise DataError(
                f"benchmark directory {self.root} not found "
                f"(set --data-dir or ${DATA_DIR_ENV}, or run 'koarena data pull')"
            )
        if not self.question_file.is_file():
            raise DataError(f"{self.question_file} not found")

    def judge_config(self) -> dict[str, Any]:
        """The bench's published judging protocol (empty if the bench has none)."""
        if not self.judge_config_file.is_file():
            return {}
        return load_mapping(self.judge_config_file, DataError)

    def default_baseline(self) -> str | None:
        cfg = self.judge_config()
        b = cfg.get("baseline_model")
        return str(b) if b else None

    def load_questions(
        self, *, strict: bool = True, report: LoadReport | None = None
    ) -> list[Question]:
        """The questions in file order. A bad or duplicate line is a `DataError` (without
        ``strict`` it goes to ``report``); a file without questions is one too."""
        self.require()
        out: list[Question] = []
        seen: set[str] = set()
        for lineno, rec in iter_jsonl(self.question_file, strict=strict, report=report):
            where = f"{self.question_file}:{lineno}"
            try:
                q = Question.from_dict(rec, where)
                if q.question_id in seen:
                    raise DataError(f"{where}: duplicate id {q.question_id}")
            except DataError as exc:
                _lenient(exc, lineno, strict, report)
                continue
            seen.add(q.question_id)
            out.append(q)
        if not out:
            raise DataError(f"{self.question_file}: no questions")
        return out

    def answer_models(self) -> list[str]:
        return _stems(self.answer_dir)

    def judges(self) -> list[str]:
        if not self.judgment_root.is_dir():
            return []
        return sorted(p.name for p in self.judgment_root.iterdir()
                      if p.is_dir() and not p.name.startswith("."))

    def require_judgments(self) -> list[str]:
        """The judges of the bench; a clear error, naming the commands that make judgments,
        when it has none."""
        judges = self.judges()
        if not judges:
            others = sorted(
                p.name for p in self.data_dir.iterdir()
                if p.is_dir() and p.name != self.name and (p / "model_judgment").is_dir()
            )
            elsewhere = f" ({', '.join(others)} here has some)" if others else ""
            raise DataError(
                f"bench {self.name!r} has no judgments yet ({self.judgment_root} is missing or "
                "empty): make them with 'koarena judge' (or 'koarena run --model M' for answer, "
                f"judge and ensemble in one go), or pick another bench with --bench{elsewhere}"
            )
        return judges

    def judged_models(self, judge: str) -> list[str]:
        d = self.judgment_dir(judge)
        if not d.is_dir():
            known = ", ".join(self.judges()) or "none"
            raise DataError(f"unknown judge {judge!r}: no directory {d} (judges found: {known})")
        return _stems(d)

    def load_answers(
        self, model: str, *, strict: bool = True, report: LoadReport | None = None
    ) -> dict[str, Answer]:
        """Answers of ``model`` by question id; a later duplicate line replaces an earlier
        (counted in ``report.duplicates``)."""
        path = self.answer_file(model)
        out: dict[str, Answer] = {}
        for lineno, rec in iter_jsonl(path, strict=strict, report=report):
            try:
                a = Answer.from_dict(rec, f"{path}:{lineno}")
            except DataError as exc:
                _lenient(exc, lineno, strict, report)
                continue
            if a.question_id in out and report is not None:
                report.duplicates += 1
            out[a.question_id] = a
        return out

    def load_judgments(
        self, judge: str, model: str, *, strict: bool = True, report: LoadReport | None = None
    ) -> list[Judgment]:
        """The judgments of ``model`` by ``judge``, one per question.

        A judgment whose ``model`` is not the file's model is an error, and so is a question
        judged twice with different verdicts (which one counts is unknowable). A repeat with
        the same verdicts (two runs that both wrote it) is dropped, with a warning.
        """
        path = self.judgment_file(judge, model)
        out: list[Judgment] = []
        first: dict[str, tuple[int, Judgment]] = {}
        dropped = 0
        for lineno, rec in iter_jsonl(path, strict=strict, report=report):
            where = f"{path}:{lineno}"
            try:
                j = Judgment.from_dict(rec, where)
                if j.model != model:
                    raise DataError(f"{where}: a judgment of model {j.model!r} in the file of "
                                    f"model {model!r}")
                earlier = first.get(j.question_id)
                if earlier is not None and earlier[1].verdicts != j.verdicts:
                    raise DataError(
                        f"{where}: question {j.question_id} judged again with different "
                        f"verdicts ({_labels(j)} here, {_labels(earlier[1])} on line "
                        f"{earlier[0]}); keep one of the two lines")
            except DataError as exc:
                _lenient(exc, lineno, strict, report)
                continue
            if earlier is not None:
                dropped += 1
                continue
            first[j.question_id] = (lineno, j)
            out.append(j)
        if dropped:
            if report is not None:
                report.duplicates += dropped
            else:
                log.warning("%s: dropped %d duplicate judgments (same question, same verdicts)",
                            path, dropped)
        return out


def _lenient(exc: DataError, lineno: int, strict: bool, report: LoadReport | None) -> None:
    """Raise ``exc`` in a strict load; otherwise note it in ``report`` as a bad line."""
    if strict:
        raise exc
    if report is not None:
        report.malformed.append((lineno, str(exc)))


def _labels(j: Judgment) -> str:
    return "/".join(v or "none" for v in j.verdicts)


def _stems(directory: Path) -> list[str]:
    """Model names of the ``*.jsonl`` files of ``directory``. Hidden files are not data: macOS
    leaves ``._<name>`` AppleDouble files beside copied ones, and koarena its lock files."""
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.jsonl")
                  if not p.name.startswith(".") and p.is_file())
