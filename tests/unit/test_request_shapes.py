"""Request bodies the providers build for the settings that went wrong on a first paid run:
GPT-5 and fine-tuned o-series names, long Claude requests with thinking, Gemini thinking levels,
prompt-cache marks. (What the official SDKs send for the same settings is compared in
tests/integration/test_sdk_request_shapes.py.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from koarena.config import ModelEndpoint, Price, parse_model_endpoint
from koarena.errors import ConfigError
from koarena.finish import FinishPolicy
from koarena.providers.anthropic import AnthropicProvider, needs_stream
from koarena.providers.base import ChatRequest, Message
from koarena.providers.gemini import GeminiProvider
from koarena.providers.openai_compat import OpenAICompatProvider

BASE = "http://127.0.0.1:9/v1"


def endpoint(name: str, **extra: Any) -> ModelEndpoint:
    entry = {"model_name": name, "endpoints": [{"api_base": BASE}], **extra}
    return parse_model_endpoint(name.replace(":", "_").replace("/", "_"), entry, "t", env={})


def body_of(provider_type: type, cfg: ModelEndpoint, request: ChatRequest) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        p = provider_type(cfg, cfg.endpoints[0])
        try:
            out: dict[str, Any] = p.build_body(request)
            return out
        finally:
            await p.aclose()

    return asyncio.run(go())


def req(max_tokens: int = 4096, messages: list[Message] | None = None) -> ChatRequest:
    return ChatRequest("m", messages or [Message("system", "S"), Message("user", "U")],
                       0.0, max_tokens)


@pytest.mark.parametrize("name", ["gpt-5", "gpt-5-mini", "gpt-5.1", "gpt-5-nano-2025-08-07",
                                  "openai/gpt-5-mini", "o1", "o3-mini", "o4-mini",
                                  "ft:o4-mini-2025-04-16:acme::abc123",
                                  "ft:gpt-5-mini-2025-08-07:acme::x"])
def test_reasoning_model_names(name: str) -> None:
    assert endpoint(name).o_series


@pytest.mark.parametrize("name", ["gpt-4o", "gpt-4.1-mini", "gpt-5-chat-latest",
                                  "gpt-5.1-chat-latest", "ft:gpt-4o-mini:acme::x",
                                  "claude-opus-4", "solar-pro2", "qwen3-32b"])
def test_other_model_names(name: str) -> None:
    assert not endpoint(name).o_series


def test_reasoning_shape_from_settings_and_override() -> None:
    # An effort sent to OpenAI's own API can only be the reasoning shape…
    official = parse_model_endpoint("x", {"model_name": "my-ft", "endpoints": None,
                                          "reasoning_effort": "low"}, "t",
                                    env={"OPENAI_API_KEY": "k"})
    assert official.o_series
    # …while OpenRouter takes ``reasoning: {effort}`` for any model.
    assert not endpoint("deepseek/deepseek-r1", reasoning_effort="low").o_series
    assert not endpoint("gpt-5-mini", reasoning_model=False).o_series
    assert endpoint("my-reasoner", reasoning_model=True).o_series


def test_gpt5_gets_completion_tokens_and_effort_only() -> None:
    """The bug: gpt-5-mini got temperature, max_tokens and ``reasoning: {effort}``."""
    for name in ("gpt-5-mini", "ft:o4-mini-2025-04-16:acme::abc123"):
        body = body_of(OpenAICompatProvider, endpoint(name, reasoning_effort="high"), req(2048))
        assert body == {"model": name, "messages": [{"role": "system", "content": "S"},
                                                    {"role": "user", "content": "U"}],
                        "max_completion_tokens": 2048, "reasoning_effort": "high"}


def test_plain_model_keeps_temperature_and_max_tokens() -> None:
    body = body_of(OpenAICompatProvider, endpoint("gpt-4o"), req(2048))
    assert (body["temperature"], body["max_tokens"]) == (0.0, 2048)
    assert "max_completion_tokens" not in body


def test_anthropic_streams_above_the_sdk_threshold() -> None:
    assert (needs_stream(21_333), needs_stream(21_334)) == (False, True)
    judge = endpoint("claude-sonnet-4", api_type="anthropic",
                     reasoning={"budget_tokens": 16_000})
    body = body_of(AnthropicProvider, judge, req(16_384))
    assert body["max_tokens"] == 32_384
    assert body["stream"] is True
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16_000}
    assert "temperature" not in body
    small = body_of(AnthropicProvider, endpoint("claude", api_type="anthropic"), req(4096))
    assert "stream" not in small
    forced = body_of(AnthropicProvider, endpoint("claude", api_type="anthropic", stream=True),
                     req(4096))
    assert forced["stream"] is True
    never = body_of(AnthropicProvider, endpoint("c", api_type="anthropic", stream=False),
                    req(30_000))
    assert "stream" not in never


def test_anthropic_cache_marks_system_and_shared_prefix() -> None:
    msgs = [Message("system", "judge rules"),
            Message("user", "question+baseline|model answer", shared_prefix=17)]
    body = body_of(AnthropicProvider, endpoint("claude", api_type="anthropic"), req(100, msgs))
    assert body["system"] == [{"type": "text", "text": "judge rules",
                               "cache_control": {"type": "ephemeral"}}]
    assert body["messages"] == [{"role": "user", "content": [
        {"type": "text", "text": "question+baseline", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "|model answer"}]}]
    off = body_of(AnthropicProvider, endpoint("claude", api_type="anthropic",
                                              prompt_cache=False), req(100, msgs))
    assert off["system"] == "judge rules"
    assert off["messages"] == [{"role": "user", "content": "question+baseline|model answer"}]


def test_anthropic_version_default_and_2026_drops_temperature() -> None:
    async def headers(cfg: ModelEndpoint) -> str:
        p = AnthropicProvider(cfg, cfg.endpoints[0])
        try:
            return str(p._session.headers["anthropic-version"])
        finally:
            await p.aclose()

    old = endpoint("claude", api_type="anthropic")
    new = endpoint("claude", api_type="anthropic", anthropic_version="2026-10-21")
    assert asyncio.run(headers(old)) == "2023-06-01"
    assert asyncio.run(headers(new)) == "2026-10-21"
    assert body_of(AnthropicProvider, old, req())["temperature"] == 0.0
    assert "temperature" not in body_of(AnthropicProvider, new, req())


def test_gemini_thinking_level_upper_case() -> None:
    cfg = endpoint("gemini-3-pro", api_type="gemini", reasoning={"thinking_level": "high"})
    body = body_of(GeminiProvider, cfg, req())
    assert body["generationConfig"]["thinkingConfig"] == {"thinkingLevel": "HIGH",
                                                          "includeThoughts": True}


def test_price_rates_and_defaults() -> None:
    cfg = endpoint("m", price={"input": 2.0, "output": 8.0, "cached_input": 0.5,
                               "date": "2026-12-01"})
    assert cfg.price == Price(2.0, 8.0, cached_input=0.5, date="2026-12-01")
    p = cfg.price
    assert p is not None
    # 1M input of which 400k cached, 100k output: 0.6*2 + 0.4*0.5 + 0.1*8
    assert p.cost(1_000_000, 100_000, cached=400_000) == pytest.approx(2.2)
    # Batch: half of every rate by default, cached included.
    assert p.cost(1_000_000, 100_000, cached=400_000, batch=True) == pytest.approx(1.1)


def test_finish_policy_parse() -> None:
    assert FinishPolicy.parse(None, "w") is FinishPolicy.FLAG
    assert FinishPolicy.parse("retry", "w") is FinishPolicy.RETRY
    with pytest.raises(ConfigError, match="finish_policy must be keep, flag or retry"):
        FinishPolicy.parse("ignore", "w")
