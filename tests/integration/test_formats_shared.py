"""Both arena-hard record formats load into the same typed records."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from koarena.bench import Bench
from koarena.cli import main
from koarena.controls import Control
from koarena.leaderboard import compute_leaderboard

SmallBench = Callable[..., Path]
"""The ``small_bench`` fixture (tests/integration/conftest.py)."""


def test_v20_questions_and_answers(shared_data: Path) -> None:
    b = Bench(shared_data, "arena-hard-v2.0")
    qs = b.load_questions()
    assert len(qs) == 750
    assert {q.category for q in qs} == {"hard_prompt", "creative_writing"}
    assert all(len(q.turns) == 1 and q.turns[0] for q in qs)
    answers = b.load_answers("o3-mini-2025-01-31")
    assert set(answers) <= {q.question_id for q in qs}
    a = next(iter(answers.values()))
    assert a.model == "o3-mini-2025-01-31"
    assert a.meta is not None and a.meta.token_len > 0
    assert a.text


def test_english_v01_in_v20_layout(shared_data: Path) -> None:
    b = Bench(shared_data, "arena-hard-v0.1")
    qs = b.load_questions()
    assert len(qs) == 500
    answers = b.load_answers("gpt-4-0314")
    assert len(answers) == 500
    assert answers[qs[0].question_id].text


def test_korean_v01(shared_data: Path) -> None:
    b = Bench(shared_data)
    qs = b.load_questions()
    assert len(qs) == 500
    assert all(q.ko_cluster for q in qs)
    assert b.default_baseline() == "claude-3.7-sonnet"
    assert len(b.answer_models()) == 76


def test_pooling_two_judges(small_bench: SmallBench) -> None:
    data = small_bench()
    root = data / "ko-arena-hard-v0.1" / "model_judgment"
    shutil.copytree(root / "ensemble", root / "copy")
    bench = Bench(data)
    one = compute_leaderboard(bench, Control.NONE, rounds=0)
    two = compute_leaderboard(bench, Control.NONE, rounds=0, judges=["ensemble", "copy"])
    assert two.n_battles == 2 * one.n_battles
    assert [(r.model, r.score) for r in two.rows] == [(r.model, r.score) for r in one.rows]
    assert two.judges == ["ensemble", "copy"]
    assert main(["leaderboard", "--data-dir", str(data), "--judge", "ensemble", "copy",
                 "--rounds", "2"]) == 0
