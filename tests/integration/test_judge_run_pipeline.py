"""``koarena run`` end to end against the fake server on 127.0.0.1: a new model is answered,
judged by two judges, ensembled, and ranked among published models of a small bench."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from koarena.bench import Bench
from koarena.leaderboard import compute_leaderboard
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for, verdict_for
from koarena.verdicts import combine_game

BENCH = "ko-arena-hard-v0.1"
SmallBench = Callable[..., Path]  # the small_bench fixture of tests/integration/conftest.py
N_QUESTIONS = 8
PUBLISHED = ("claude-3.7-sonnet", "gpt-4o-mini", "o3-high")
JUDGES = {"j1": "fake-judge-1", "j2": "fake-judge-2"}
ROUNDS = 10


def load(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=30))


def write_configs(root: Path, srv: FakeServer) -> tuple[Path, Path]:
    settings = root / "gen_answer_config.yaml"
    settings.write_text(
        f"bench_name: {BENCH}\ntemperature: 0.0\nmax_tokens: 512\nmodel_list: [m]\n",
        encoding="utf-8",
    )
    endpoints = root / "api_config.yaml"
    names = {"m": "m", "gpt-4o-mini": "gpt-4o-mini", **JUDGES}
    endpoints.write_text(
        "".join(
            f"{name}:\n  model_name: {api}\n  endpoints:\n    - api_base: {srv.base_url}\n"
            "      api_key: not-needed\n  parallel: 4\n  timeout: 5\n"
            for name, api in names.items()
        ),
        encoding="utf-8",
    )
    return settings, endpoints


def koarena(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "koarena", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_args(data: Path, settings: Path, endpoints: Path, model: str) -> list[str]:
    return [
        "run", "--model", model, "--setting-file", str(settings),
        "--endpoint-file", str(endpoints), "--judge", "j1", "j2",
        "--data-dir", str(data), "--rounds", str(ROUNDS), "--retry-base", "0.01",
    ]  # fmt: skip


def test_run_end_to_end(small_bench: SmallBench, tmp_path: Path, server: FakeServer) -> None:
    data = small_bench(PUBLISHED, N_QUESTIONS)
    settings, endpoints = write_configs(tmp_path, server)
    proc = koarena(*run_args(data, settings, endpoints, "m"))
    assert proc.returncode == 0, proc.stderr
    bench = Bench(data, BENCH)
    questions = load(bench.question_file)
    protocol = yaml.safe_load(bench.judge_config_file.read_text(encoding="utf-8"))
    baseline = {r["question_id"]: r for r in load(bench.answer_file(protocol["baseline_model"]))}

    answers = {r["question_id"]: r for r in load(bench.answer_file("m"))}
    assert sorted(answers) == sorted(q["question_id"] for q in questions)
    for q in questions:
        text = answer_for("m", q["turns"][0]["content"], 30)
        assert answers[q["question_id"]]["choices"][0]["turns"] == [
            {"content": text, "finish_reason": "stop"}]

    labels: dict[str, dict[str, list[str]]] = {}
    for judge, api in JUDGES.items():
        got = {r["question_id"]: r for r in load(bench.judgment_file(judge, "m"))}
        assert sorted(got) == sorted(answers)
        labels[judge] = {}
        for q in questions:
            qid = q["question_id"]
            a = baseline[qid]["choices"][0]["turns"][0]["content"]
            b = answers[qid]["choices"][0]["turns"][0]["content"]
            expected = []
            for first, second in ((a, b), (b, a)):
                user = protocol["prompt_template"][0].format(
                    question_1=q["turns"][0]["content"], answer_1=first, answer_2=second
                )
                expected.append(verdict_for(api, "\x01".join([protocol["system_prompt"], user])))
            assert [g["score"] for g in got[qid]["games"]] == expected
            labels[judge][qid] = expected

    ensemble = {r["question_id"]: r for r in load(bench.judgment_file("ensemble", "m"))}
    assert sorted(ensemble) == sorted(answers)
    for qid, rec in ensemble.items():
        assert [g["score"] for g in rec["games"]] == [
            combine_game([labels["j1"][qid][gi], labels["j2"][qid][gi]]) for gi in (0, 1)
        ]

    board = compute_leaderboard(
        bench, judges=["ensemble"], baseline=protocol["baseline_model"], rounds=ROUNDS, seed=42
    )
    assert sorted(r.model for r in board.rows) == sorted([*PUBLISHED, "m"])
    row = board.row("m")
    line = next(ln for ln in proc.stdout.splitlines() if re.search(r"\bm\b", ln))
    cells = [c.strip() for c in line.split("│") if c.strip()]
    assert cells == [f"{board.rank('m')} / 4", "m", f"{row.score:.2f}", row.ci, str(row.avg_tokens)]
    # The published models' verdicts were read, not rewritten.
    for model in PUBLISHED:
        assert not bench.judgment_file("j1", model).exists()
    assert server.state.total == N_QUESTIONS + 2 * 2 * N_QUESTIONS

    again = koarena(*run_args(data, settings, endpoints, "m"))
    assert again.returncode == 0, again.stderr
    assert "answer: 0 done, 8 skipped" in again.stderr
    assert "judge: 0 done, 16 skipped" in again.stderr
    assert server.state.total == N_QUESTIONS + 2 * 2 * N_QUESTIONS


def test_run_refuses_to_overwrite_published_verdicts(
    small_bench: SmallBench, tmp_path: Path, server: FakeServer
) -> None:
    data = small_bench(PUBLISHED, N_QUESTIONS)
    settings, endpoints = write_configs(tmp_path, server)
    before = Bench(data, BENCH).judgment_file("ensemble", "gpt-4o-mini").read_bytes()
    proc = koarena(*run_args(data, settings, endpoints, "gpt-4o-mini"))
    assert proc.returncode == 2
    assert "already has ensemble verdicts" in proc.stderr
    assert server.state.total == 0
    assert Bench(data, BENCH).judgment_file("ensemble", "gpt-4o-mini").read_bytes() == before


def test_run_stops_after_a_failed_stage(
    small_bench: SmallBench, tmp_path: Path, server: FakeServer
) -> None:
    data = small_bench(PUBLISHED, N_QUESTIONS)
    settings, endpoints = write_configs(tmp_path, server)
    server.state.config.faults.append(FaultRule("400", model="fake-judge-2"))
    proc = koarena(*run_args(data, settings, endpoints, "m"))
    assert proc.returncode == 1
    assert "the judge stage had failures" in proc.stderr
    assert not Bench(data, BENCH).judgment_file("ensemble", "m").exists()
    again = koarena(*run_args(data, settings, endpoints, "m"))
    assert again.returncode == 0, again.stderr
    assert "judge: 1 done, 15 skipped" in again.stderr
    assert Bench(data, BENCH).judgment_file("ensemble", "m").exists()
