"""The native Anthropic provider (``api_type: anthropic``) against the fake server's
Anthropic-compatible ``/v1/messages`` on 127.0.0.1: request shape, thinking kept apart, every
fault classified, the key never shown, and the engine choosing this provider by ``api_type``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from koarena.config import ModelEndpoint, parse_model_endpoint
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    Message,
    RateLimitError,
    TransientError,
)
from koarena.runner.pool import ProviderPool, RetryPolicy
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for

KEY = "sk-ant-planted-secret-0123456789"
SYSTEM = "너는 도움이 되는 조수다."


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=5))


def claude(srv: FakeServer, name: str = "claude", **extra: Any) -> ModelEndpoint:
    entry = {"api_type": "anthropic", "model_name": name,
             "endpoints": [{"api_base": srv.base_url, "api_key": KEY}],
             "parallel": 4, "timeout": 0.5, **extra}
    return parse_model_endpoint(name, entry, "test", env={})


def request(cfg: ModelEndpoint, text: str = "질문") -> ChatRequest:
    return ChatRequest(cfg.name, [Message("system", SYSTEM), Message("user", text)], 0.0, 64)


def call(cfg: ModelEndpoint, text: str = "질문") -> ChatResponse:
    async def go() -> ChatResponse:
        p = AnthropicProvider(cfg, cfg.endpoints[0])
        try:
            return await p.chat(request(cfg, text))
        finally:
            await p.aclose()

    return asyncio.run(go())


def body(cfg: ModelEndpoint) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        p = AnthropicProvider(cfg, cfg.endpoints[0])
        try:
            return p.build_body(request(cfg))
        finally:
            await p.aclose()

    return asyncio.run(go())


def test_request_shape(server: FakeServer) -> None:
    assert body(claude(server, extra_body={"top_k": 5}, prompt_cache=False)) == {
        "model": "claude", "system": SYSTEM, "max_tokens": 64, "temperature": 0.0,
        "messages": [{"role": "user", "content": "질문"}], "top_k": 5,
    }  # fmt: skip
    # A thinking budget comes on top of the answer's max_tokens; no temperature with thinking.
    # The system prompt is marked for Anthropic's prompt cache.
    cached_system = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
    assert body(claude(server, reasoning={"budget_tokens": 1024})) == {
        "model": "claude", "system": cached_system, "max_tokens": 64 + 1024,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "질문"}],
    }  # fmt: skip


def test_answer_and_usage(server: FakeServer) -> None:
    resp = call(claude(server))
    # The fake server answers from the whole conversation: the system prompt arrived as system.
    assert resp.content == answer_for("claude", f"{SYSTEM}\x01질문", 5)
    assert resp.reasoning == ""
    assert resp.finish_reason == "end_turn"
    assert resp.usage.input_tokens == len(f"{SYSTEM}질문".encode()) // 4
    assert resp.usage.output_tokens == len(resp.content.encode()) // 4


def test_thinking_kept_apart(server: FakeServer) -> None:
    resp = call(claude(server, reasoning={"budget_tokens": 1024}))
    assert resp.reasoning == "claude 생각 1"
    assert resp.content == answer_for("claude", f"{SYSTEM}\x01질문", 5)


def test_429_carries_retry_after(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("429", retry_after=2)]
    with pytest.raises(RateLimitError) as info:
        call(claude(server))
    assert info.value.retry_after == 2.0


@pytest.mark.parametrize("kind", ["500", "503", "529", "hang", "reset", "cut"])
def test_overload_5xx_timeout_and_dropped_connection_are_transient(
        server: FakeServer, kind: str) -> None:
    server.state.config.faults = [FaultRule(kind)]
    with pytest.raises(TransientError):
        call(claude(server))


def test_other_4xx_is_fatal_with_anthropics_message(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("400")]
    with pytest.raises(FatalError, match="HTTP 400: injected 400"):
        call(claude(server))


def test_key_is_sent_as_x_api_key_and_scrubbed_from_errors(server: FakeServer) -> None:
    server.state.config.require_key = KEY
    assert call(claude(server)).content
    server.state.config.require_key = "sk-ant-another-key-987654321"
    with pytest.raises(FatalError) as info:
        call(claude(server))
    # The fake server echoes the key it was given, as some providers do.
    assert "Incorrect API key provided: ***" in str(info.value)
    assert KEY not in str(info.value) and KEY[:8] not in str(info.value)


def test_engine_picks_the_provider_by_api_type_and_retries(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("529", times=1)]
    cfg = claude(server)

    async def go() -> tuple[ChatResponse, int]:
        pool = ProviderPool({"claude": cfg}, retry=RetryPolicy(attempts=3, base=0.01), seed=1)
        try:
            resp = await pool.chat(request(cfg))
            return resp, pool.usage()["claude"].retries
        finally:
            await pool.aclose()

    resp, retries = asyncio.run(go())
    assert resp.content == answer_for("claude", f"{SYSTEM}\x01질문", 5)
    assert retries == 1
    assert server.state.stats()["faults"] == {"529": 1}
