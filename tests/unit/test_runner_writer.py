"""A run stops as soon as its records cannot be written: requests sent after that would be
paid for and lost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from ask_task import Ask

from koarena.config import parse_model_endpoint
from koarena.errors import OutputError
from koarena.providers.base import ChatRequest, ChatResponse, Provider
from koarena.runner import run as runner_run
from koarena.runner.pool import ProviderPool
from koarena.runner.run import RunOptions, run_tasks


class FirstThenSlow:
    """Answers the first request at once and every later one after a pause, so that the
    first record reaches the writer while most requests are still to be sent."""

    def __init__(self) -> None:
        self.calls = 0

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        if self.calls > 1:
            await asyncio.sleep(0.05)
        return ChatResponse(content="answer")

    async def aclose(self) -> None:
        pass


def test_a_failed_write_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "m.jsonl"

    def disk_full(path: Path, records: Any) -> None:
        raise OutputError(f"cannot write {path}: No space left on device")

    monkeypatch.setattr(runner_run, "append_jsonl", disk_full)
    provider = FirstThenSlow()
    cfg = parse_model_endpoint("m", {"endpoints": [{"api_base": "http://127.0.0.1:9"}],
                                     "parallel": 2}, "t", env={})

    def factory(_cfg: Any) -> list[Provider]:
        return [provider]

    async def go() -> None:
        pool = ProviderPool({"m": cfg}, factory=factory)
        try:
            await run_tasks(
                [Ask(f"q{i}", out) for i in range(40)], pool,
                RunOptions(stage="test", failure_log=tmp_path / "f.jsonl"))
        finally:
            await pool.aclose()

    with pytest.raises(OutputError, match="No space left on device"):
        asyncio.run(go())
    assert provider.calls < 40  # without the stop, every one of the 40 is sent
