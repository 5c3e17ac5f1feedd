"""The offline demo of docs/generation.md, run as written: the example files in examples/
against the fake server on 127.0.0.1, and every command's output compared with the page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.testing import FakeConfig, FakeServer

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DOC = REPO / "docs" / "generation.md"
DEMO_URL = "http://127.0.0.1:8765/v1"


def load(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig.from_file(EXAMPLES / "fake_server.yaml"))


def koarena(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
    return subprocess.run(
        [sys.executable, "-m", "koarena", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def shown_in_doc(proc: subprocess.CompletedProcess[str], doc: str) -> None:
    """Both output streams appear verbatim (up to trailing spaces) on the page."""
    for stream in (proc.stderr, proc.stdout):
        text = "\n".join(line.rstrip() for line in stream.splitlines())
        assert text in doc, f"output not in {DOC.name}:\n{text}"


def test_offline_demo_as_documented(server: FakeServer, tmp_path: Path) -> None:
    doc = DOC.read_text(encoding="utf-8")
    endpoint_text = (EXAMPLES / "api_config.yaml").read_text(encoding="utf-8")
    assert DEMO_URL in endpoint_text
    # The one change to the example files: the port this test's server got.
    endpoints = tmp_path / "api_config.yaml"
    endpoints.write_text(endpoint_text.replace(DEMO_URL, server.base_url), encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "demo-bench", data / "demo-bench")
    bench = data / "demo-bench"
    common = ["--endpoint-file", str(endpoints), "--data-dir", str(data)]
    answer = ["answer", "--setting-file", "examples/gen_answer_config.yaml", *common]
    judge = ["judge", "--setting-file", "examples/judge_config.yaml", *common]
    run = ["run", "--model", "demo-model", "--setting-file", "examples/gen_answer_config.yaml",
           "--judge-setting-file", "examples/judge_config.yaml", *common]  # fmt: skip

    ensemble = ["ensemble", "--data-dir", str(data), "--bench", "demo-bench",
                "--judge", "demo-judge", "demo-judge-reasoner"]  # fmt: skip
    for args, code in (
        ([*answer, "--dry-run"], 0),
        (answer, 0),
        ([*judge, "--dry-run"], 0),
        (judge, 0),
        (ensemble, 0),
        (run, 1),
    ):
        proc = koarena(*args)
        assert proc.returncode == code, proc.stderr
        shown_in_doc(proc, doc)
    assert not (bench / "logs" / "judge_failures.jsonl").exists()

    # The fake 400 for demo-model's last question: logged, not written, asked again next run.
    [failure] = load(bench / "logs" / "answer_failures.jsonl")
    assert (failure["key"], failure["model"], failure["reason"]) == (
        "demo-q08", "demo-model", "fatal")
    assert failure["error"].endswith("HTTP 400: injected 400")
    assert "demo-q08" not in {a["question_id"] for a in load(
        bench / "model_answer" / "demo-model.jsonl")}
    proc = koarena(*run)
    assert proc.returncode == 0, proc.stderr
    shown_in_doc(proc, doc)
    proc = koarena("leaderboard", "--data-dir", str(data), "--bench", "demo-bench")
    assert proc.returncode == 0, proc.stderr
    shown_in_doc(proc, doc)

    ids = [a["question_id"] for a in load(bench / "model_answer" / "demo-model.jsonl")]
    assert sorted(ids) == [f"demo-q{i:02d}" for i in range(1, 9)]
    # <think> reasoning is kept apart from the answer.
    for a in load(bench / "model_answer" / "demo-r1-think.jsonl"):
        turn = a["choices"][0]["turns"][0]
        assert "<think>" not in turn["content"] and "생각" not in turn["content"]
        assert turn["reasoning"].startswith("demo-r1-think 생각")
    # reasoning_content of the judge is stored per game, apart from the parsed judgment.
    for j in load(bench / "model_judgment" / "demo-judge-reasoner" / "demo-model.jsonl"):
        for g in j["games"]:
            assert g["judge_reasoning"][0].startswith("demo-judge-reasoner 생각")
            assert "생각" not in g["judgment"]
    # The judge reply without a verdict got the follow-up turn.
    attempts = [g["attempts"] for j in load(
        bench / "model_judgment" / "demo-judge" / "demo-r1-think.jsonl") for g in j["games"]]
    assert sorted(attempts) == [1] * 15 + [2]
    summaries = load(bench / "logs" / "run_summary.jsonl")
    assert [s["stage"] for s in summaries] == ["answer", "judge", "answer", "answer", "judge"]
    assert summaries[-1]["usage"]["demo-judge"]["cost_usd"] > 0


def test_batch_demo_as_documented(fake_server: Callable[[FakeConfig], FakeServer],
                                  tmp_path: Path) -> None:
    server = fake_server(FakeConfig.from_file(EXAMPLES / "fake_server.yaml"))
    doc = DOC.read_text(encoding="utf-8")
    endpoints = tmp_path / "api_config.yaml"
    endpoints.write_text((EXAMPLES / "api_config.yaml").read_text(encoding="utf-8")
                         .replace(DEMO_URL, server.base_url), encoding="utf-8")
    data = tmp_path / "data"
    shutil.copytree(EXAMPLES / "demo-bench", data / "demo-bench")
    common = ["--endpoint-file", str(endpoints), "--data-dir", str(data), "--batch",
              "--poll-interval", "0"]
    answered = koarena("answer", "--setting-file", "examples/gen_answer_config.yaml", *common)
    assert answered.returncode == 0, answered.stderr
    shown_in_doc(answered, doc)
    judged = koarena("judge", "--setting-file", "examples/judge_config.yaml", *common)
    assert judged.returncode == 0, judged.stderr
    shown_in_doc(judged, doc)
    # Answers: round 1 per model, then the 429 and the 503 retried in a batch each; judging:
    # round 1 per judge, then the follow-up turn.
    assert server.state.batches_created == 7
