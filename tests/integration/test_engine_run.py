"""run_tasks over real HTTP against the fake server: retries, failures, resume, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.config import ModelEndpoint, parse_model_endpoint
from koarena.providers.base import ChatRequest, Message
from koarena.runner.pool import ProviderPool, RetryPolicy
from koarena.runner.run import RunOptions, RunResult, run_tasks
from koarena.runner.tasks import Chat
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


@dataclass(frozen=True)
class OneShot:
    key: str
    model: str
    output: Path

    def planned_requests(self) -> list[ChatRequest]:
        return [ChatRequest(self.model, [Message("user", self.key)], 0.0, 50)]

    async def run(self, chat: Chat) -> dict[str, Any]:
        resp = await chat(self.planned_requests()[0])
        return {"question_id": self.key, "text": resp.content}


@dataclass(frozen=True)
class FollowUp(OneShot):
    """Two dependent requests, like a judge asked again for its final verdict."""

    async def run(self, chat: Chat) -> dict[str, Any]:
        first = await chat(self.planned_requests()[0])
        msgs = [Message("user", self.key), Message("assistant", first.content),
                Message("user", "final verdict?")]
        second = await chat(ChatRequest(self.model, msgs, 0.0, 50))
        return {"question_id": self.key, "texts": [first.content, second.content]}


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=3))


def endpoint(*servers: FakeServer, parallel: int = 4, name: str = "m") -> ModelEndpoint:
    eps = [{"api_base": s.base_url} for s in servers]
    return parse_model_endpoint(name, {"endpoints": eps, "parallel": parallel, "timeout": 2,
                                       "price": {"input": 1000, "output": 2000}}, "t", env={})


def run(tasks: list[Any], cfg: ModelEndpoint, tmp: Path,
        retry: RetryPolicy = FAST) -> RunResult:
    async def go() -> RunResult:
        pool = ProviderPool({cfg.name: cfg}, retry=retry, seed=1)
        try:
            return await run_tasks(tasks, pool, RunOptions(
                stage="test", failure_log=tmp / "failures.jsonl",
                summary_file=tmp / "summary.jsonl"))
        finally:
            await pool.aclose()

    return asyncio.run(go())


def lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()] if path.exists() else []


def keys(n: int) -> list[str]:
    return [f"question-{i:03d}" for i in range(n)]


def test_retryable_faults_are_retried_until_success(server: FakeServer, tmp_path: Path) -> None:
    server.state.config.faults.extend([
        FaultRule("429", match="question-001", times=2, retry_after=0.01),
        FaultRule("503", match="question-002"),
        FaultRule("500", match="question-003"),
        FaultRule("reset", match="question-004"),
    ])
    out = tmp_path / "out.jsonl"
    res = run([OneShot(k, "m", out) for k in keys(6)], endpoint(server), tmp_path)
    assert (res.done, res.skipped, dict(res.failed), res.exit_code) == (6, 0, {}, 0)
    assert sorted(r["question_id"] for r in lines(out)) == keys(6)
    assert all(r["text"] == answer_for("m", r["question_id"], 3) for r in lines(out))
    assert server.state.total == 11
    assert res.usage["m"].requests == 6
    assert res.usage["m"].retries == 5
    assert not (tmp_path / "failures.jsonl").exists()
    summary = lines(tmp_path / "summary.jsonl")
    assert len(summary) == 1
    assert summary[0]["usage"]["m"]["requests"] == 6
    u = res.usage["m"].tokens
    assert summary[0]["cost_usd"] == round((u.input_tokens * 1000 + u.output_tokens * 2000)
                                           / 1e6, 6)


def test_failures_logged_not_written_and_retried_next_run(
        server: FakeServer, tmp_path: Path) -> None:
    server.state.config.faults.extend([
        FaultRule("400", match="question-002"),
        FaultRule("503", match="question-003", times=4),  # exhausts 4 attempts
    ])
    out = tmp_path / "out.jsonl"
    tasks = [OneShot(k, "m", out) for k in keys(5)]
    res = run(tasks, endpoint(server), tmp_path)
    assert (res.done, dict(res.failed), res.exit_code) == (3, {"fatal": 1, "transient": 1}, 1)
    assert sorted(r["question_id"] for r in lines(out)) == ["question-000", "question-001",
                                                             "question-004"]
    fails = lines(tmp_path / "failures.jsonl")
    assert sorted((f["key"], f["reason"]) for f in fails) == [
        ("question-002", "fatal"), ("question-003", "transient")]
    assert server.state.total == 1 + 1 + 4 + 1 + 1

    again = run(tasks, endpoint(server), tmp_path)
    assert (again.done, again.skipped, dict(again.failed)) == (2, 3, {})
    assert server.state.total == 8 + 2
    assert sorted(r["question_id"] for r in lines(out)) == keys(5)


def test_parallel_is_never_exceeded(server: FakeServer, tmp_path: Path) -> None:
    server.state.config.latency = 0.02
    res = run([FollowUp(k, "m", tmp_path / "o.jsonl") for k in keys(30)],
              endpoint(server, parallel=3), tmp_path)
    assert res.done == 30
    assert 1 <= server.state.max_in_flight["m"] <= 3
    assert server.state.total == 60


def test_follow_up_requests_carry_the_first_reply(server: FakeServer, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    run([FollowUp("question-000", "m", out)], endpoint(server), tmp_path)
    (rec,) = lines(out)
    first = answer_for("m", "question-000", 3)
    convo = "\x01".join(["question-000", first, "final verdict?"])
    assert rec["texts"] == [first, answer_for("m", convo, 3)]


def test_endpoints_of_one_model_share_the_load(tmp_path: Path) -> None:
    a, b = FakeServer(FakeConfig(latency=0.01)), FakeServer(FakeConfig(latency=0.01))
    a.start_in_thread()
    b.start_in_thread()
    try:
        res = run([OneShot(k, "m", tmp_path / "o.jsonl") for k in keys(20)],
                  endpoint(a, b, parallel=4), tmp_path)
    finally:
        a.stop_thread()
        b.stop_thread()
    assert res.done == 20
    assert a.state.total + b.state.total == 20
    assert a.state.total >= 5
    assert b.state.total >= 5


def test_unknown_model_fails_before_any_request(server: FakeServer, tmp_path: Path) -> None:
    from koarena.errors import ConfigError

    with pytest.raises(ConfigError, match="model 'other' is not in the endpoint file"):
        run([OneShot("q", "other", tmp_path / "o.jsonl")], endpoint(server), tmp_path)
    assert server.state.total == 0


@dataclass(frozen=True)
class Crash(OneShot):
    """A task with a bug: it raises something that is not a failed request."""

    async def run(self, chat: Chat) -> dict[str, Any]:
        await asyncio.sleep(0)  # let the other workers start their tasks first
        raise KeyError(self.key)


@dataclass(frozen=True)
class Waits(OneShot):
    """A task that waits forever and notes whether it was cancelled."""

    cancelled: list[str]

    async def run(self, chat: Chat) -> dict[str, Any]:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(self.key)
            raise
        raise AssertionError("unreachable")


def test_a_crashing_worker_cancels_the_others(server: FakeServer, tmp_path: Path) -> None:
    cfg = endpoint(server, parallel=2)
    out = tmp_path / "out.jsonl"
    cancelled: list[str] = []
    tasks: list[Any] = [Waits(k, "m", out, cancelled) for k in ("w1", "w2", "w3")]
    tasks.append(Crash("boom", "m", out))

    async def go() -> list[str]:
        pool = ProviderPool({cfg.name: cfg}, retry=FAST, seed=1)
        try:
            with pytest.raises(KeyError, match="boom"):
                await run_tasks(tasks, pool, RunOptions(stage="test",
                                                        failure_log=tmp_path / "failures.jsonl"))
            # Taken before the loop shuts down (which would cancel any leftover task).
            return sorted(cancelled)
        finally:
            await pool.aclose()

    # Four workers took the four tasks; the crash cancelled the three waiting ones before
    # run_tasks raised (asyncio.gather would have left them running).
    assert asyncio.run(go()) == ["w1", "w2", "w3"]
    assert not out.exists()
    assert not (tmp_path / "failures.jsonl").exists()
