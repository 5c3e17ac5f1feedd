"""The batch runner keeps the online guarantees: what a batch API returns or raises loses the
endpoint's key, and a second run on the same output file stops at once."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from ask_task import Ask

from koarena.batch.apis import BatchApi, BatchState, ItemResult
from koarena.batch.journal import BatchJournal
from koarena.batch.options import BatchOptions
from koarena.batch.run import run_batched
from koarena.config import ModelEndpoint, parse_model_endpoint
from koarena.errors import BusyError
from koarena.jsonl import sole_writer
from koarena.providers.base import ChatRequest, ChatResponse, FatalError
from koarena.runner.pool import ProviderPool, RetryPolicy
from koarena.runner.run import RunOptions

KEY = "sk-batch-0123456789abcdefghij"


class EchoingBatch:
    """A batch API that echoes the key: in answers and finish reasons, and in the error of
    the item asked "bad"."""

    def __init__(self) -> None:
        self.items: list[tuple[str, ChatRequest]] = []

    async def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        self.items = list(items)
        return "batch-1"

    async def poll(self, batch_id: str) -> BatchState:
        return BatchState("completed", len(self.items), len(self.items), True)

    async def results(self, batch_id: str) -> dict[str, ItemResult]:
        out: dict[str, ItemResult] = {}
        for cid, request in self.items:
            if request.messages[0].content == "bad":
                out[cid] = FatalError(f"HTTP 401: invalid key {KEY}")
            else:
                out[cid] = ChatResponse(content=f"answer {KEY}", finish_reason=f"stop {KEY}")
        return out

    async def aclose(self) -> None:
        pass


def endpoint() -> ModelEndpoint:
    return parse_model_endpoint("m", {"endpoints": [{"api_base": "http://127.0.0.1:9/v1",
                                                     "api_key": KEY}]}, "t", env={})


def run(tasks: list[Ask], tmp: Path) -> Any:
    api = EchoingBatch()

    def factory(_cfg: ModelEndpoint) -> BatchApi:
        return api

    async def go() -> Any:
        pool = ProviderPool({"m": endpoint()}, retry=RetryPolicy(attempts=1))
        try:
            return await run_batched(
                tasks, pool, RunOptions(stage="answer", failure_log=tmp / "failures.jsonl"),
                BatchOptions(all_models=True, poll_interval=0.0, factory=factory),
                BatchJournal(tmp / "batches.jsonl"))
        finally:
            await pool.aclose()

    return asyncio.run(go())


def test_batch_results_and_errors_lose_the_key(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    result = run([Ask("good", out), Ask("bad", out)], tmp_path)
    assert (result.done, sum(result.failed.values())) == (1, 1)
    assert [orjson.loads(x) for x in out.read_bytes().splitlines()] == [
        {"question_id": "good", "text": "answer ***", "finish": "stop ***"}]
    failures = (tmp_path / "failures.jsonl").read_text()
    assert "invalid key ***" in failures
    for path in tmp_path.iterdir():
        assert KEY[:8] not in path.read_text() and KEY[-6:] not in path.read_text()


def test_batch_run_holds_the_one_writer_lock(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    with sole_writer([out]), pytest.raises(BusyError, match=r"m\.jsonl is being written by "):
        run([Ask("good", out)], tmp_path)
    assert not out.exists()
