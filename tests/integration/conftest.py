"""Fixtures that build small benches in the arena-hard layout from the shared data."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from koarena.jsonl import iter_jsonl, write_jsonl_atomic
from koarena.testing import FakeConfig, FakeServer

BENCH = "ko-arena-hard-v0.1"
SmallBench = Callable[..., Path]


@pytest.fixture
def small_bench(shared_data: Path, tmp_path: Path) -> SmallBench:
    """``make(models, n_questions)`` → a data dir with the first questions (or those of
    ``question_ids``), those models' answers and ensemble verdicts, and the bench's
    judge_config.yaml."""

    def make(
        models: tuple[str, ...] = ("claude-3.7-sonnet", "gpt-4o-mini", "o3-high"),
        n_questions: int = 20,
        root: Path | None = None,
        question_ids: tuple[str, ...] | None = None,
    ) -> Path:
        src = shared_data / BENCH
        data_dir = root or tmp_path / "data"
        dst = data_dir / BENCH
        qs = [r for _, r in iter_jsonl(src / "question.jsonl")]
        if question_ids is None:
            qs = qs[:n_questions]
        else:
            qs = [q for q in qs if q["question_id"] in question_ids]
        ids = {q["question_id"] for q in qs}
        write_jsonl_atomic(dst / "question.jsonl", qs)
        shutil.copy(src / "judge_config.yaml", dst / "judge_config.yaml")
        for m in models:
            for sub in ("model_answer", "model_judgment/ensemble"):
                rows = [
                    r for _, r in iter_jsonl(src / sub / f"{m}.jsonl") if r["question_id"] in ids
                ]
                write_jsonl_atomic(dst / sub / f"{m}.jsonl", rows)
        return data_dir

    return make


@pytest.fixture
def fake_server() -> Iterator[Callable[[FakeConfig], FakeServer]]:
    """``start(config)`` → a fake model server on 127.0.0.1, stopped after the test."""
    started: list[FakeServer] = []

    def start(config: FakeConfig) -> FakeServer:
        srv = FakeServer(config)
        srv.start_in_thread()
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop_thread()
