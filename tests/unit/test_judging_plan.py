"""Planning a judging run: resume from disk, unjudgeable answers left out and reported."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from koarena.bench import Bench
from koarena.errors import DataError
from koarena.jsonl import append_jsonl
from koarena.judging import JudgeProtocol, plan_judging
from koarena.records import Answer, Game, Judgment, Question

PROTOCOL = JudgeProtocol(system_prompt="S", prompt_template=("{question_1}{answer_1}{answer_2}",))


def make_bench(tmp_path: Path) -> Bench:
    bench = Bench(tmp_path, "tiny")
    append_jsonl(
        bench.question_file,
        [Question(question_id=f"q{i}", turns=[f"질문 {i}"]).to_dict() for i in range(4)],
    )
    append_jsonl(
        bench.answer_file("base"),
        [Answer(question_id=f"q{i}", model="base", turns=[f"b{i}"]).to_dict() for i in range(4)],
    )
    model_turns = {"q0": "m0", "q1": "$ERROR$", "q2": "m2"}
    append_jsonl(
        bench.answer_file("m"),
        [Answer(question_id=q, model="m", turns=[t]).to_dict() for q, t in model_turns.items()],
    )
    return bench


def test_plan_skips_done_and_unjudgeable(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    done = Judgment(
        question_id="q2",
        model="m",
        judge="j1",
        games=[Game("A>B"), Game(None)],
        extra={"prompt_hash": PROTOCOL.prompt_hash, "baseline": "base"},
    )
    append_jsonl(bench.judgment_file("j1", "m"), [done.to_dict()])
    plan = plan_judging(bench, PROTOCOL, ["j1", "j2"], ["m"], "base")
    assert [job.key for job in plan.jobs] == ["j1/m/q0", "j2/m/q0", "j2/m/q2"]
    assert plan.already_done == {("j1", "m"): 1, ("j2", "m"): 0}
    assert plan.skipped == {
        "m": {"model answer failure marker $ERROR$": ["q1"], "model answer missing": ["q3"]}
    }
    assert plan.skipped_counts() == {
        "model answer failure marker $ERROR$": 1,
        "model answer missing": 1,
    }
    job = plan.jobs[0]
    assert (job.baseline.turns, job.answer.turns) == (["b0"], ["m0"])
    assert job.question.turns == ["질문 0"]


def test_plan_reports_judgments_of_another_protocol(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bench = make_bench(tmp_path)
    old = Judgment(
        question_id="q0",
        model="m",
        judge="j1",
        games=[Game("A>B"), Game("B>A")],
        extra={"prompt_hash": "sha256:other", "baseline": "base"},
    )
    append_jsonl(bench.judgment_file("j1", "m"), [old.to_dict()])
    with caplog.at_level(logging.WARNING):
        plan = plan_judging(bench, PROTOCOL, ["j1"], ["m"], "base")
    assert [job.key for job in plan.jobs] == ["j1/m/q2"]
    assert "1 judgment(s) of m by j1 were made with another prompt or baseline" in caplog.text


def test_plan_needs_answer_files(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    with pytest.raises(DataError, match="no answers of model 'nobody'"):
        plan_judging(bench, PROTOCOL, ["j1"], ["nobody"], "base")
    with pytest.raises(DataError, match="no answers of baseline 'gone'"):
        plan_judging(bench, PROTOCOL, ["j1"], ["m"], "gone")
