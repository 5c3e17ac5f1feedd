"""Planning a judging run: one task per judge, model and judgeable question; unjudgeable
answers left out and reported; judgments of another protocol reported."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from koarena.bench import Bench
from koarena.config import JudgeSettings
from koarena.errors import ConfigError, DataError
from koarena.jsonl import append_jsonl
from koarena.judge_protocol import JudgeProtocol
from koarena.judging import dry_run, expected_reply_tokens, plan_judging
from koarena.records import Answer, Game, Judgment, Question
from koarena.runner.tasks import pending_tasks

PROTOCOL = JudgeProtocol(system_prompt="S", prompt_template=("{question_1}|{answer_1}|{answer_2}",))


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


def test_plan_tasks_and_unjudgeable(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    plan = plan_judging(bench, PROTOCOL, {"j1": "api-j1", "j2": "api-j2"}, ["m"], "base")
    assert [(t.model, t.key) for t in plan.tasks] == [
        ("j1", "q0"),
        ("j1", "q2"),
        ("j2", "q0"),
        ("j2", "q2"),
    ]
    assert plan.tasks[0].output == tmp_path / "tiny" / "model_judgment" / "j1" / "m.jsonl"
    assert plan.tasks[2].identity.judge_model == "api-j2"
    assert [m[1].content for m in plan.tasks[0].games()] == ["질문 0|b0|m0", "질문 0|m0|b0"]
    assert plan.skipped == {
        "m": {"model answer failure marker $ERROR$": ["q1"], "model answer missing": ["q3"]}
    }
    assert plan.skipped_counts() == {
        "model answer failure marker $ERROR$": 1,
        "model answer missing": 1,
    }


def test_done_judgments_are_left_to_the_engines_resume(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    done = Judgment(question_id="q2", model="m", judge="j1", games=[Game("A>B"), Game(None)])
    append_jsonl(bench.judgment_file("j1", "m"), [done.to_dict()])
    plan = plan_judging(bench, PROTOCOL, {"j1": "j1"}, ["m"], "base")
    todo, skipped = pending_tasks(plan.tasks)
    assert [t.key for t in todo] == ["q0"]
    assert skipped == 1


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
        plan_judging(bench, PROTOCOL, {"j1": "j1"}, ["m"], "base")
    assert "1 judgment(s) of m by j1 were made with another prompt or baseline" in caplog.text


def test_plan_needs_answer_files(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    with pytest.raises(DataError, match="no answers of model 'nobody'"):
        plan_judging(bench, PROTOCOL, {"j1": "j1"}, ["nobody"], "base")
    with pytest.raises(DataError, match="no answers of baseline 'gone'"):
        plan_judging(bench, PROTOCOL, {"j1": "j1"}, ["m"], "gone")


def test_template_mismatch_fails_before_any_request(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    bad = JudgeProtocol(system_prompt="S", prompt_template=("{question_1} {answer_1}",))
    with pytest.raises(ConfigError, match="does not show assistant B's last turn"):
        plan_judging(bench, bad, {"j1": "j1"}, ["m"], "base")


def settings(**overrides: Any) -> JudgeSettings:
    base = JudgeSettings(
        bench_name="tiny",
        judge_models=["j1"],
        baseline_model="base",
        system_prompt="S",
        prompt_template=["{question_1}|{answer_1}|{answer_2}"],
    )
    return replace(base, **overrides)


def test_protocol_from_settings() -> None:
    p = JudgeProtocol.from_settings(
        settings(number_of_judgment_attempts=3, temperature=0.5, max_tokens=100)
    )
    assert p == JudgeProtocol(
        system_prompt="S",
        prompt_template=("{question_1}|{answer_1}|{answer_2}",),
        regex_patterns=(r"\[\[([AB<>=]+)\]\]",),
        attempts=3,
        temperature=0.5,
        max_tokens=100,
    )
    with pytest.raises(ConfigError, match="only pairwise"):
        JudgeProtocol.from_settings(settings(pairwise=False))
    with pytest.raises(ConfigError, match="reference answers"):
        JudgeProtocol.from_settings(settings(reference=True))


def test_expected_reply_tokens_from_earlier_judgments(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    assert expected_reply_tokens(bench, ["j1"]) is None
    games: list[Game | None] = [
        Game("A>B", {"usage": {"input_tokens": 5, "output_tokens": 300}, "attempts": 1}),
        Game(None, {"usage": {"input_tokens": 9, "output_tokens": 500}, "attempts": 2}),
    ]
    published: list[Game | None] = [Game("A>B"), Game("B>A")]  # no usage: not counted
    append_jsonl(
        bench.judgment_file("j1", "base"),
        [
            Judgment(question_id="q0", model="base", judge="j1", games=games).to_dict(),
            Judgment(question_id="q2", model="base", judge="j1", games=published).to_dict(),
        ],
    )
    assert expected_reply_tokens(bench, ["j1", "j2"]) == 267  # 800 tokens / 3 replies
    plan = plan_judging(bench, PROTOCOL, {"j1": "j1"}, ["m"], "base")
    est = dry_run(plan, expected_reply_tokens(bench, ["j1"]))
    assert est.requests["j1"] == 4
    assert est.expected_output_tokens["j1"] == 4 * 267
    assert est.max_output_tokens["j1"] == 4 * 16384


def test_malformed_answer_lines_are_reported_and_count_as_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bench = make_bench(tmp_path)
    with open(bench.answer_file("m"), "ab") as fh:
        fh.write(b"{not json}\n")
    with caplog.at_level(logging.WARNING):
        plan = plan_judging(bench, PROTOCOL, {"j1": "j1"}, ["m"], "base")
    assert "m.jsonl: 1 malformed line(s) skipped" in caplog.text
    assert [t.key for t in plan.tasks] == ["q0", "q2"]
