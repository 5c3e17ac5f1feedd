"""A benchmark bundle on disk, in the arena-hard layout.

``<data_dir>/<bench>/question.jsonl``, ``model_answer/<model>.jsonl``,
``model_judgment/<judge>/<model>.jsonl`` and the bench's ``judge_config.yaml``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from koarena.errors import DataError, UnsafeNameError
from koarena.jsonl import LoadReport, iter_jsonl
from koarena.records import Answer, Judgment, Question

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
        with open(self.judge_config_file, encoding="utf-8") as fh:
            cfg = yaml.safe_load(fh) or {}
        if not isinstance(cfg, dict):
            raise DataError(f"{self.judge_config_file}: expected a mapping")
        return cfg

    def default_baseline(self) -> str | None:
        cfg = self.judge_config()
        b = cfg.get("baseline_model")
        return str(b) if b else None

    def load_questions(self) -> list[Question]:
        self.require()
        out: list[Question] = []
        seen: set[str] = set()
        for lineno, rec in iter_jsonl(self.question_file):
            q = Question.from_dict(rec, f"{self.question_file}:{lineno}")
            if q.question_id in seen:
                raise DataError(f"{self.question_file}:{lineno}: duplicate id {q.question_id}")
            seen.add(q.question_id)
            out.append(q)
        return out

    def answer_models(self) -> list[str]:
        if not self.answer_dir.is_dir():
            return []
        return sorted(p.stem for p in self.answer_dir.glob("*.jsonl"))

    def judges(self) -> list[str]:
        if not self.judgment_root.is_dir():
            return []
        return sorted(p.name for p in self.judgment_root.iterdir() if p.is_dir())

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
        return sorted(p.stem for p in d.glob("*.jsonl"))

    def load_answers(
        self, model: str, *, strict: bool = True, report: LoadReport | None = None
    ) -> dict[str, Answer]:
        """Answers of ``model`` by question id; a later duplicate line replaces an earlier."""
        path = self.answer_file(model)
        out: dict[str, Answer] = {}
        for lineno, rec in iter_jsonl(path, strict=strict, report=report):
            try:
                a = Answer.from_dict(rec, f"{path}:{lineno}")
            except DataError as exc:
                if strict:
                    raise
                if report is not None:
                    report.malformed.append((lineno, str(exc)))
                continue
            out[a.question_id] = a
        return out

    def load_judgments(
        self, judge: str, model: str, *, strict: bool = True, report: LoadReport | None = None
    ) -> list[Judgment]:
        path = self.judgment_file(judge, model)
        out: list[Judgment] = []
        for lineno, rec in iter_jsonl(path, strict=strict, report=report):
            try:
                out.append(Judgment.from_dict(rec, f"{path}:{lineno}"))
            except DataError as exc:
                if strict:
                    raise
                if report is not None:
                    report.malformed.append((lineno, str(exc)))
        return out
