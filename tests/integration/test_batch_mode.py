"""Batch mode against the fake server's batch APIs on 127.0.0.1: the same records as an online
run, judging's follow-up turn as a second round, per-item failures back in the retry path,
expired batches, a server without batch routes, and kill -9 while polling resumed without a
second submission (batch creations counted on the server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from koarena.answering import answer
from koarena.batch.options import BatchOptions
from koarena.batch.run import journal_path
from koarena.bench import Bench
from koarena.config import (
    AnswerSettings,
    ModelEndpoint,
    load_judge_settings,
    parse_model_endpoint,
)
from koarena.judge_protocol import JudgeProtocol
from koarena.judging import judge, plan_judging
from koarena.runner.pool import RetryPolicy
from koarena.runner.run import RunResult, StageRunner
from koarena.testing import FakeConfig, FakeServer, FaultRule

BENCH = "ko-arena-hard-v0.1"
BASELINE = "claude-3.7-sonnet"
FAST = BatchOptions(all_models=True, poll_interval=0.01)
PRICE = {"input": 2.0, "output": 8.0}


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=6))


def endpoint(srv: FakeServer, api_type: str, base: str | None = None,
             **extra: Any) -> ModelEndpoint:
    default = srv.gemini_base_url if api_type == "gemini" else srv.base_url
    return parse_model_endpoint("mdl", {"api_type": api_type, "model_name": "mdl",
                                        "endpoints": [{"api_base": base or default}],
                                        "price": PRICE, **extra}, "test", env={})


def records(path: Path) -> list[dict[str, Any]]:
    """The records of a file without their timestamps, in question order."""
    rows = [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]
    for r in rows:
        r.pop("tstamp", None)
    return sorted(rows, key=lambda r: str(r["question_id"]))


def judgments(bench: Bench) -> list[dict[str, Any]]:
    """The judgments of gpt-4o-mini by ``mdl`` without time stamps and prompt-cache hits
    (which depend on which request reached the shared fake cache first)."""
    rows = records(bench.judgment_file("mdl", "gpt-4o-mini"))
    for r in rows:
        for g in r["games"]:
            del g["usage"]["cached_input_tokens"]
    return rows


def run_answers(bench: Bench, cfg: ModelEndpoint, batch: BatchOptions | None,
                attempts: int = 3) -> RunResult:
    settings = AnswerSettings(bench_name=BENCH, model_list=["mdl"], max_tokens=100)
    runner = StageRunner({"mdl": cfg}, retry=RetryPolicy(attempts=attempts, base=0.01),
                         batch=batch)
    return answer(bench, ["mdl"], settings, runner)


@pytest.mark.parametrize("api_type", ["openai", "anthropic", "gemini"])
def test_batch_answers_equal_online_answers(small_bench: Callable[..., Path],
                                            server: FakeServer, tmp_path: Path,
                                            api_type: str) -> None:
    online = Bench(small_bench((BASELINE,), 4, root=tmp_path / "online"), BENCH)
    batched = Bench(small_bench((BASELINE,), 4, root=tmp_path / "batch"), BENCH)
    assert run_answers(online, endpoint(server, api_type), None).done == 4
    assert server.state.batches_created == 0
    result = run_answers(batched, endpoint(server, api_type), FAST)
    assert (result.done, result.batches, server.state.batches_created) == (4, 1, 1)
    assert records(batched.answer_file("mdl")) == records(online.answer_file("mdl"))
    usage = result.usage["mdl"]
    # Priced at half the online rates (the default batch rates).
    assert usage.batch_requests == 4
    assert usage.cost == pytest.approx(usage.cost_online / 2)
    assert usage.saved_by_batch == pytest.approx(usage.cost_online / 2)
    journal = [orjson.loads(x) for x in journal_path(batched).read_bytes().splitlines()]
    assert [j["event"] for j in journal] == ["submitted"]
    assert sorted(journal[0]["items"].values()) == sorted(
        q.question_id for q in batched.load_questions())


def test_judging_follow_up_is_a_second_round(small_bench: Callable[..., Path],
                                             server: FakeServer, tmp_path: Path) -> None:
    def run(root: Path, batch: BatchOptions | None) -> Bench:
        bench = Bench(small_bench((BASELINE, "gpt-4o-mini"), 3, root=root), BENCH)
        protocol = JudgeProtocol.from_settings(
            load_judge_settings(None, bench.judge_config_file))
        plan = plan_judging(bench, protocol, {"mdl": "mdl"}, ["gpt-4o-mini"], BASELINE)
        first_q = bench.load_questions()[0].turns[0][:30]
        server.state.config.faults = [FaultRule("no_verdict", match=first_q, times=1)]
        result = judge(bench, plan, StageRunner({"mdl": endpoint(server, "anthropic")},
                                                batch=batch))
        assert result.done == 3
        return bench

    online = run(tmp_path / "online", None)
    batched = run(tmp_path / "batch", FAST)
    # Round 1: both games of every question; round 2: the one follow-up turn.
    assert server.state.batches_created == 2
    got = judgments(batched)
    assert got == judgments(online)
    assert sum(g["attempts"] for r in got for g in r["games"]) == 7


def test_item_failures_go_back_to_the_retry_path(small_bench: Callable[..., Path],
                                                 server: FakeServer) -> None:
    bench = Bench(small_bench((BASELINE,), 4), BENCH)
    questions = bench.load_questions()
    server.state.config.faults = [
        FaultRule("503", match=questions[0].turns[0][:30]),             # transient: retried
        FaultRule("400", match=questions[1].turns[0][:30], times=9)]    # fatal: fails
    result = run_answers(bench, endpoint(server, "openai"), FAST)
    assert (result.done, dict(result.failed)) == (3, {"fatal": 1})
    assert server.state.batches_created == 2
    answered = bench.load_answers("mdl")
    assert questions[1].question_id not in answered
    assert questions[0].question_id in answered
    failure = orjson.loads(
        (bench.root / "logs" / "answer_failures.jsonl").read_bytes().splitlines()[0])
    assert (failure["key"], failure["reason"], failure["batch"]) == (
        questions[1].question_id, "fatal", True)
    journal = [orjson.loads(x) for x in journal_path(bench).read_bytes().splitlines()]
    assert [j["event"] for j in journal] == ["submitted", "failed", "submitted"]
    # Both failed items are marked; only the transient one is in the second batch, under the
    # same custom id.
    assert len(journal[1]["items"]) == 2 and set(journal[1]["items"]) < set(journal[0]["items"])
    assert len(journal[2]["items"]) == 1 and set(journal[2]["items"]) < set(journal[1]["items"])


def test_expired_items_retried_online(small_bench: Callable[..., Path],
                                      server: FakeServer) -> None:
    bench = Bench(small_bench((BASELINE,), 4), BENCH)
    server.state.config.batch_expire = True
    options = BatchOptions(all_models=True, poll_interval=0.01, retry_online=True)
    result = run_answers(bench, endpoint(server, "anthropic"), options)
    assert (result.done, server.state.batches_created) == (4, 1)
    # Half the batch expired and went online.
    assert (result.usage["mdl"].batch_requests, result.usage["mdl"].requests) == (2, 4)


def test_endpoint_batch_flag_and_a_server_without_batch_routes(
        small_bench: Callable[..., Path], server: FakeServer) -> None:
    bench = Bench(small_bench((BASELINE,), 2), BENCH)
    # The fake server's batch routes live under /v1 only; /v2 serves chat completions alone.
    cfg = endpoint(server, "openai", base=server.base_url.replace("/v1", "/v2"), batch=True)
    result = run_answers(bench, cfg, BatchOptions(poll_interval=0.01))
    assert dict(result.failed) == {"fatal": 2}
    failure = orjson.loads(
        (bench.root / "logs" / "answer_failures.jsonl").read_bytes().splitlines()[0])
    assert "does not implement the batch API" in failure["error"]
    assert not bench.answer_file("mdl").exists()


def test_kill_during_polling_resumes_without_resubmitting(
        small_bench: Callable[..., Path], server: FakeServer, tmp_path: Path) -> None:
    bench = Bench(small_bench((BASELINE,), 5), BENCH)
    server.state.config.batch_delay = 3600
    endpoints = tmp_path / "api.yaml"
    endpoints.write_text(yaml.safe_dump({"mdl": {
        "model_name": "mdl", "endpoints": [{"api_base": server.base_url}]}}), encoding="utf-8")
    settings = tmp_path / "gen.yaml"
    settings.write_text(yaml.safe_dump({"bench_name": BENCH, "max_tokens": 100,
                                        "model_list": ["mdl"]}), encoding="utf-8")
    cmd = [sys.executable, "-m", "koarena", "answer", "--setting-file", str(settings),
           "--endpoint-file", str(endpoints), "--data-dir", str(bench.data_dir), "--batch",
           "--poll-interval", "0.05"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    journal = journal_path(bench)
    deadline = time.monotonic() + 60
    while not (journal.is_file() and journal.read_bytes().endswith(b"\n")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no batch was journalled"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert server.state.batches_created == 1
    assert not bench.answer_file("mdl").exists()
    server.state.config.batch_delay = 0
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert server.state.batches_created == 1
    assert len(bench.load_answers("mdl")) == 5
    assert "completed 5/5" in done.stderr


def vllm_run_batch(server: FakeServer, infile: Path, outfile: Path) -> None:
    """What ``vllm run-batch -i infile -o outfile`` does, against the fake server: each line's
    body to /v1/chat/completions, the replies in the OpenAI batch output format."""
    lines = []
    for raw in infile.read_bytes().splitlines():
        item = orjson.loads(raw)
        req = urllib.request.Request(f"{server.base_url}/chat/completions",
                                     data=orjson.dumps(item["body"]),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            body = orjson.loads(resp.read())
        lines.append({"id": f"vllm-{len(lines)}", "custom_id": item["custom_id"],
                      "response": {"status_code": 200, "request_id": "r", "body": body},
                      "error": None})
    outfile.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def koarena_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "koarena", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_batch_file_for_vllm_and_import(small_bench: Callable[..., Path], server: FakeServer,
                                        tmp_path: Path) -> None:
    """answer --batch-file writes the requests without sending them; a vLLM-style runner
    answers them; --import-batch writes the same records as an online run. Judging's
    follow-up turn comes back as a second batch file."""
    online = Bench(small_bench((BASELINE, "gpt-4o-mini"), 3, root=tmp_path / "online"), BENCH)
    offline = Bench(small_bench((BASELINE, "gpt-4o-mini"), 3, root=tmp_path / "files"), BENCH)
    endpoints = tmp_path / "api.yaml"
    endpoints.write_text(yaml.safe_dump({"mdl": {
        "model_name": "mdl", "endpoints": [{"api_base": server.base_url}]}}), encoding="utf-8")
    settings = tmp_path / "gen.yaml"
    settings.write_text(yaml.safe_dump({"bench_name": BENCH, "max_tokens": 100,
                                        "model_list": ["mdl"]}), encoding="utf-8")
    judging = tmp_path / "judge.yaml"
    judging.write_text(yaml.safe_dump({"bench_name": BENCH, "judge_model": "mdl",
                                       "model_list": ["gpt-4o-mini"]}), encoding="utf-8")
    first_q = online.load_questions()[0].turns[0][:30]

    def run(bench: Bench, stage: str, *extra: str) -> subprocess.CompletedProcess[str]:
        setting = settings if stage == "answer" else judging
        return koarena_cli(stage, "--setting-file", str(setting), "--endpoint-file",
                           str(endpoints), "--data-dir", str(bench.data_dir), *extra)

    assert run(online, "answer").returncode == 0
    server.state.config.faults = [FaultRule("no_verdict", match=first_q, model="mdl")]
    assert run(online, "judge").returncode == 0
    sent_online = server.state.total

    infile, outfile = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    written = run(offline, "answer", "--batch-file", str(infile))
    assert written.returncode == 0, written.stderr
    assert "waiting for --import-batch: 3" in written.stderr
    assert server.state.total == sent_online  # nothing was sent
    assert not offline.answer_file("mdl").exists()
    vllm_run_batch(server, infile, outfile)
    imported = run(offline, "answer", "--import-batch", str(outfile))
    assert imported.returncode == 0, imported.stderr
    assert records(offline.answer_file("mdl")) == records(online.answer_file("mdl"))

    server.state.config.faults = [FaultRule("no_verdict", match=first_q, model="mdl")]
    round1, out1 = tmp_path / "judge1.jsonl", tmp_path / "judge1.out.jsonl"
    assert run(offline, "judge", "--batch-file", str(round1)).returncode == 0
    vllm_run_batch(server, round1, out1)
    round2, out2 = tmp_path / "judge2.jsonl", tmp_path / "judge2.out.jsonl"
    # The reply without a verdict gets its follow-up turn as the next file.
    second = run(offline, "judge", "--import-batch", str(out1), "--batch-file", str(round2))
    assert second.returncode == 0, second.stderr
    assert "2 done" in second.stderr and "waiting for --import-batch: 1" in second.stderr
    assert len(round2.read_bytes().splitlines()) == 1
    vllm_run_batch(server, round2, out2)
    last = koarena_cli("import-batch", str(out1), str(out2), "judge", "--setting-file",
                       str(judging), "--endpoint-file", str(endpoints), "--data-dir",
                       str(offline.data_dir))
    assert last.returncode == 0, last.stderr
    assert judgments(offline) == judgments(online)
