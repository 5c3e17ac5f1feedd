"""koarena's requests next to the official SDKs' for the same settings, both captured by one
server on 127.0.0.1: GPT-5 and a fine-tuned o-series model (openai), Claude with thinking at
judge scale, streamed (anthropic), Gemini 3 with a thinking level (google-genai).

The SDKs are test-only dependencies (pyproject's ``test`` extra); a test is skipped where its
SDK is not installed. Each test imports its SDK: the three take 4 s to import, which every
pytest-xdist worker would pay at collection if they were imported here. Bodies must match
exactly where the SDK's shape is the API's (OpenAI, Anthropic); Gemini's are compared after
normalising field names, since the API reads both ``thinking_level`` (which google-genai sends)
and ``thinkingLevel``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from koarena.config import ModelEndpoint, parse_model_endpoint
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.base import ChatRequest, ChatResponse, Message
from koarena.providers.gemini import GeminiProvider
from koarena.providers.openai_compat import OpenAICompatProvider

KEY = "sk-test-key-0123456789"
SYSTEM = "너는 공정한 심판이다."
USER = "두 답변을 비교하라."


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class CaptureServer:
    """Records every request and answers each API with a minimal valid reply (Anthropic's
    streamed as server-sent events when asked)."""

    port: int = 0
    requests: list[Captured] = field(default_factory=list)

    async def handle(self, req: web.Request) -> web.StreamResponse:
        body = orjson.loads(await req.read())
        self.requests.append(Captured(req.path, {k.lower(): v for k, v in req.headers.items()},
                                      body))
        if req.path.endswith("/chat/completions"):
            return web.json_response({
                "id": "c", "object": "chat.completion", "created": 1, "model": body["model"],
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "답"}}],
                "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10,
                          "prompt_tokens_details": {"cached_tokens": 4}}})
        if req.path.endswith("/messages"):
            return await self.anthropic(req, body)
        return web.json_response({
            "candidates": [{"index": 0, "finishReason": "STOP", "content": {
                "role": "model", "parts": [{"text": "생각", "thought": True}, {"text": "답"}]}}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 1,
                              "thoughtsTokenCount": 2, "cachedContentTokenCount": 4,
                              "totalTokenCount": 12}})

    async def anthropic(self, req: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        usage = {"input_tokens": 3, "cache_read_input_tokens": 4,
                 "cache_creation_input_tokens": 2, "output_tokens": 1}
        if not body.get("stream"):
            return web.json_response({
                "id": "m", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": "답"}], "stop_reason": "end_turn",
                "stop_sequence": None, "usage": usage})
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(req)
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": {
                "id": "m", "type": "message", "role": "assistant", "model": body["model"],
                "content": [], "stop_reason": None, "stop_sequence": None,
                "usage": {**usage, "output_tokens": 1}}},
            {"type": "ping"},
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "먼저 "}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "생각"}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "signature_delta", "signature": "sig"}},
            {"type": "content_block_stop", "index": 0},
            {"type": "content_block_start", "index": 1,
             "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 1,
             "delta": {"type": "text_delta", "text": "답"}},
            {"type": "content_block_stop", "index": 1},
            {"type": "message_delta", "delta": {"stop_reason": "max_tokens",
                                                "stop_sequence": None},
             "usage": {"output_tokens": 7}},
            {"type": "message_stop"},
        ]
        for e in events:
            await resp.write(b"event: " + e["type"].encode() + b"\ndata: " + orjson.dumps(e)
                             + b"\n\n")
        await resp.write_eof()
        return resp


@pytest.fixture(scope="module")
def capture() -> Iterator[CaptureServer]:
    server = CaptureServer()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    server.port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield server
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.run_until_complete(runner.cleanup())
    loop.close()


def koarena_call(cfg: ModelEndpoint, provider: type, max_tokens: int) -> ChatResponse:
    request = ChatRequest(cfg.name, [Message("system", SYSTEM), Message("user", USER)],
                          temperature=0.0, max_tokens=max_tokens)

    async def go() -> ChatResponse:
        p = provider(cfg, cfg.endpoints[0])
        try:
            resp: ChatResponse = await p.chat(request)
            return resp
        finally:
            await p.aclose()

    return asyncio.run(go())


def endpoint(name: str, base: str, **extra: Any) -> ModelEndpoint:
    return parse_model_endpoint(
        re.sub(r"[^A-Za-z0-9._-]", "_", name),
        {"model_name": name, "endpoints": [{"api_base": base, "api_key": KEY}], **extra},
        "test", env={})


def last_two(capture: CaptureServer) -> tuple[Captured, Captured]:
    sdk, ours = capture.requests[-2:]
    return sdk, ours


@pytest.mark.parametrize("model", ["gpt-5-mini", "ft:o4-mini-2025-04-16:acme::abc123"])
def test_openai_reasoning_models_match_the_sdk(capture: CaptureServer, model: str) -> None:
    base = f"http://127.0.0.1:{capture.port}/v1"
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(api_key=KEY, base_url=base, max_retries=0)
    client.chat.completions.create(
        model=model, max_completion_tokens=2048, reasoning_effort="high",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}])
    resp = koarena_call(endpoint(model, base, reasoning_effort="high"),
                        OpenAICompatProvider, 2048)
    sdk, ours = last_two(capture)
    assert ours.path == sdk.path == "/v1/chat/completions"
    assert ours.body == sdk.body
    assert ours.headers["authorization"] == sdk.headers["authorization"] == f"Bearer {KEY}"
    assert (resp.usage.input_tokens, resp.usage.cached_input_tokens) == (9, 4)


def test_claude_thinking_streamed_matches_the_sdk(capture: CaptureServer) -> None:
    base = f"http://127.0.0.1:{capture.port}"
    anthropic = pytest.importorskip("anthropic")
    client = anthropic.Anthropic(api_key=KEY, base_url=base, max_retries=0)
    # Judge scale: 16,384 answer tokens + a 16,000-token thinking budget. The SDK refuses this
    # without streaming; koarena streams it by itself.
    with pytest.raises(ValueError, match="Streaming is required"):
        client.messages.create(model="claude-x", max_tokens=32_384, system=SYSTEM,
                               messages=[{"role": "user", "content": USER}],
                               thinking={"type": "enabled", "budget_tokens": 16_000})
    with client.messages.stream(
            model="claude-x", max_tokens=32_384,
            system=[{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}],
            messages=[{"role": "user", "content": USER}],
            thinking={"type": "enabled", "budget_tokens": 16_000}) as stream:
        final = stream.get_final_message()
    # koarena pins 2023-06-01 by default (docs/generation.md); set to the SDK's version, the
    # requests must agree.
    sdk_version = capture.requests[-1].headers["anthropic-version"]
    cfg = endpoint("claude-x", f"{base}/v1", api_type="anthropic",
                   anthropic_version=sdk_version, reasoning={"budget_tokens": 16_000})
    resp = koarena_call(cfg, AnthropicProvider, 16_384)
    sdk, ours = last_two(capture)
    assert ours.path == sdk.path == "/v1/messages"
    assert ours.body == sdk.body
    assert ours.body["stream"] is True
    assert ours.headers["anthropic-version"] == sdk.headers["anthropic-version"]
    # The SDK sends the key as a bearer token; x-api-key is the documented header and the one
    # the API prefers when both are present.
    assert ours.headers["x-api-key"] == KEY
    assert sdk.headers["authorization"] == f"Bearer {KEY}"
    # Both read the same stream the same way: thinking apart, usage from message_start and
    # message_delta, the stop reason kept.
    assert final.stop_reason == resp.finish_reason == "max_tokens"
    assert resp.content == "답" and resp.reasoning == "먼저 생각"
    assert final.usage.output_tokens == resp.usage.output_tokens == 7
    assert (resp.usage.input_tokens, resp.usage.cached_input_tokens,
            resp.usage.cache_write_tokens) == (3 + 4 + 2, 4, 2)


def _camel(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): _camel(v)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [_camel(v) for v in obj]
    return obj


def test_gemini_thinking_level_matches_the_sdk(capture: CaptureServer) -> None:
    genai = pytest.importorskip("google.genai")
    from google.genai import types

    base = f"http://127.0.0.1:{capture.port}"
    client = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=base,
                                                                        api_version="v1beta"))
    client.models.generate_content(
        model="gemini-3-pro", contents=USER,
        config=types.GenerateContentConfig(
            system_instruction=SYSTEM, temperature=0.0, max_output_tokens=2048,
            thinking_config=types.ThinkingConfig(
                # the string users write; the SDK types it as its ThinkingLevel enum
                thinking_level="high",  # type: ignore[arg-type]
                include_thoughts=True)))
    cfg = endpoint("gemini-3-pro", f"{base}/v1beta", api_type="gemini",
                   reasoning={"thinking_level": "high"})
    resp = koarena_call(cfg, GeminiProvider, 2048)
    sdk, ours = last_two(capture)
    assert ours.path == sdk.path == "/v1beta/models/gemini-3-pro:generateContent"
    sdk_body = _camel(sdk.body)
    assert ours.body["generationConfig"] == sdk_body["generationConfig"] == {
        "temperature": 0.0, "maxOutputTokens": 2048,
        "thinkingConfig": {"thinkingLevel": "HIGH", "includeThoughts": True}}
    assert ours.body["contents"] == sdk_body["contents"]
    assert ours.body["systemInstruction"]["parts"] == sdk_body["systemInstruction"]["parts"]
    assert ours.headers["x-goog-api-key"] == sdk.headers["x-goog-api-key"] == KEY
    assert (resp.content, resp.reasoning) == ("답", "생각")
    assert (resp.usage.input_tokens, resp.usage.cached_input_tokens) == (9, 4)
