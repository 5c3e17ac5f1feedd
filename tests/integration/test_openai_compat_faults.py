"""The OpenAI-compatible provider against the fake server over real HTTP on 127.0.0.1:
every injected fault is classified as the engine needs it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from koarena.config import ModelEndpoint, parse_model_endpoint
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    Message,
    RateLimitError,
    TransientError,
)
from koarena.providers.openai_compat import OpenAICompatProvider
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for

KEY = "sk-planted-secret-0123456789"


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=5))


def model(srv: FakeServer, name: str = "m", **extra: Any) -> ModelEndpoint:
    entry = {"model_name": name, "endpoints": [{"api_base": srv.base_url, "api_key": KEY}],
             "parallel": 4, "timeout": 0.5, **extra}
    return parse_model_endpoint(name, entry, "test", env={})


def call(cfg: ModelEndpoint, text: str = "질문") -> ChatResponse:
    async def go() -> ChatResponse:
        p = OpenAICompatProvider(cfg, cfg.endpoints[0])
        try:
            return await p.chat(ChatRequest(cfg.name, [Message("user", text)], 0.0, 64))
        finally:
            await p.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("stream", [False, True])
def test_answer_and_usage(server: FakeServer, stream: bool) -> None:
    resp = call(model(server, stream=stream))
    assert resp.content == answer_for("m", "질문", 5)
    assert resp.reasoning == ""
    assert resp.finish_reason == "stop"
    assert resp.usage.input_tokens == 1
    assert resp.usage.output_tokens == len(resp.content.encode()) // 4


def test_429_carries_retry_after(server: FakeServer) -> None:
    server.state.config.faults.append(FaultRule("429", retry_after=2.5))
    with pytest.raises(RateLimitError) as info:
        call(model(server))
    assert info.value.retry_after == 2.5
    assert "HTTP 429: injected 429" in str(info.value)


@pytest.mark.parametrize("kind", ["500", "503"])
def test_5xx_is_transient(server: FakeServer, kind: str) -> None:
    server.state.config.faults.append(FaultRule(kind))
    with pytest.raises(TransientError, match=f"HTTP {kind}: injected {kind}"):
        call(model(server))


@pytest.mark.parametrize("kind", ["400", "401"])
def test_other_4xx_is_fatal_with_the_providers_message(server: FakeServer, kind: str) -> None:
    server.state.config.faults.append(FaultRule(kind))
    with pytest.raises(FatalError, match=f"HTTP {kind}: injected {kind}"):
        call(model(server))


def test_hang_past_timeout_is_transient(server: FakeServer) -> None:
    server.state.config.faults.append(FaultRule("hang"))
    with pytest.raises(TransientError, match=r"no response within 0.5 s"):
        call(model(server))


def test_a_held_request_is_answered_on_release(server: FakeServer) -> None:
    server.hold()
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(call, model(server, timeout=60))
        while server.state.in_flight["m"] == 0:
            assert not answer.done()
            time.sleep(0.01)
        assert not answer.done()  # received, and held
        server.release()
        assert answer.result(timeout=60).content == answer_for("m", "질문", 5)
    assert server.state.total == 1


@pytest.mark.parametrize("stream", [False, True])
def test_connection_reset_is_transient(server: FakeServer, stream: bool) -> None:
    server.state.config.faults.append(FaultRule("reset"))
    with pytest.raises(TransientError):
        call(model(server, stream=stream))


def test_stream_cut_mid_answer_is_transient(server: FakeServer) -> None:
    server.state.config.faults.append(FaultRule("cut"))
    with pytest.raises(TransientError):
        call(model(server, stream=True))
    assert server.state.faults["cut"] == 1


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_content_kept_apart(server: FakeServer, stream: bool) -> None:
    resp = call(model(server, "r-reasoner", stream=stream))
    assert resp.content == answer_for("r-reasoner", "질문", 5)
    assert resp.reasoning.startswith("r-reasoner 생각 ")


@pytest.mark.parametrize("stream", [False, True])
def test_think_block_split_off(server: FakeServer, stream: bool) -> None:
    resp = call(model(server, "q-think", stream=stream))
    assert resp.content == answer_for("q-think", "질문", 5)
    assert resp.reasoning.startswith("q-think 생각 ")
    assert "<think>" not in resp.content


def test_judge_prompt_without_verdict(server: FakeServer) -> None:
    server.state.config.faults.append(FaultRule("no_verdict"))
    resp = call(model(server), "<|The Start of Assistant A's Answer|> a")
    assert "[[" not in resp.content
    ok = call(model(server), "<|The Start of Assistant A's Answer|> a")
    assert ok.content.endswith("]]")


def test_key_is_scrubbed_from_provider_messages(server: FakeServer) -> None:
    server.state.config.require_key = "sk-the-right-one"
    with pytest.raises(FatalError) as info:
        call(model(server))
    assert str(info.value).endswith("HTTP 401: Incorrect API key provided: ***")
    assert KEY not in str(info.value)
