"""The native Gemini provider (``api_type: gemini``/``google``) against the fake server's
``/v1beta/models/{model}:generateContent`` (and ``:streamGenerateContent``) on 127.0.0.1:
request shape, thought parts kept apart, usage, every fault classified, blocked prompts and
filtered answers never taken as answers, the key sent only in ``x-goog-api-key`` and never shown,
the engine choosing this provider by ``api_type``, ``koarena answer`` runs (one with the example
entry), and the fake server's filter faults in the OpenAI and Anthropic shapes."""

from __future__ import annotations

import asyncio
import doctest
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.config import ModelEndpoint, parse_model_endpoint
from koarena.errors import ConfigError
from koarena.providers import gemini
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.apis import GEMINI
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    Message,
    RateLimitError,
    TransientError,
)
from koarena.providers.gemini import GeminiProvider, retry_delay
from koarena.providers.openai_compat import OpenAICompatProvider
from koarena.runner.pool import ProviderPool, RetryPolicy
from koarena.style import conv_metadata
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for

KEY = "AIza-planted-secret-0123456789abcdef"
SYSTEM = "너는 도움이 되는 조수다."
CONVO = f"{SYSTEM}\x01질문"


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=5))


def gem(srv: FakeServer, model_name: str = "gemini-x", *, key: str | None = KEY,
        **extra: Any) -> ModelEndpoint:
    endpoint: dict[str, Any] = {"api_base": srv.gemini_base_url}
    if key is not None:
        endpoint["api_key"] = key
    entry = {"api_type": "gemini", "model_name": model_name, "endpoints": [endpoint],
             "parallel": 4, "timeout": 0.5, **extra}
    return parse_model_endpoint("gemini-x", entry, "test", env={})


def request(cfg: ModelEndpoint, *turns: str) -> ChatRequest:
    messages = [Message("system", SYSTEM)]
    for i, t in enumerate(turns or ("질문",)):
        messages.append(Message("assistant" if i % 2 else "user", t))
    return ChatRequest(cfg.name, messages, 0.0, 64)


def call(cfg: ModelEndpoint, *turns: str) -> ChatResponse:
    async def go() -> ChatResponse:
        p = GeminiProvider(cfg, cfg.endpoints[0])
        try:
            return await p.chat(request(cfg, *turns))
        finally:
            await p.aclose()

    return asyncio.run(go())


def provider_view(cfg: ModelEndpoint) -> tuple[str, dict[str, Any]]:
    async def go() -> tuple[str, dict[str, Any]]:
        p = GeminiProvider(cfg, cfg.endpoints[0])
        try:
            return p.url, p.build_body(request(cfg))
        finally:
            await p.aclose()

    return asyncio.run(go())


def test_request_shape(server: FakeServer) -> None:
    safety = [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]
    url, body = provider_view(gem(server, "models/gemini-x", extra_body={
        "safetySettings": safety, "generationConfig": {"topP": 0.9}}))
    assert url == f"{server.gemini_base_url}/models/gemini-x:generateContent"
    assert body == {
        "systemInstruction": {"parts": [{"text": SYSTEM}]},
        "contents": [{"role": "user", "parts": [{"text": "질문"}]}],
        # extra_body's generationConfig is merged key by key, not replacing ours.
        "generationConfig": {"temperature": 0.0, "maxOutputTokens": 64, "topP": 0.9},
        "safetySettings": safety,
    }
    # A positive thinking budget comes on top of the answer's maxOutputTokens.
    url, body = provider_view(gem(server, stream=True, reasoning={"thinking_budget": 1024}))
    assert url == f"{server.gemini_base_url}/models/gemini-x:streamGenerateContent?alt=sse"
    assert body["generationConfig"] == {
        "temperature": 0.0, "maxOutputTokens": 64 + 1024,
        "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}}
    # reasoning_effort is Gemini 3's thinking level; the budget is then unknown.
    _, body = provider_view(gem(server, reasoning_effort="low"))
    assert body["generationConfig"] == {
        "temperature": 0.0, "maxOutputTokens": 64,
        "thinkingConfig": {"thinkingLevel": "LOW", "includeThoughts": True}}


def test_docstring_examples() -> None:
    result = doctest.testmod(gemini)
    assert result.attempted >= 6
    assert result.failed == 0


@pytest.mark.parametrize("stream", [False, True])
def test_answer_and_usage(server: FakeServer, stream: bool) -> None:
    resp = call(gem(server, stream=stream))
    # The fake server answers from the whole conversation: the system prompt arrived as
    # systemInstruction.
    assert resp.content == answer_for("gemini-x", CONVO, 5)
    assert resp.reasoning == ""
    assert resp.finish_reason == "STOP"
    assert resp.usage.input_tokens == len(f"{SYSTEM}질문".encode()) // 4
    assert resp.usage.output_tokens == len(resp.content.encode()) // 4
    assert resp.usage.reasoning_tokens == 0


def test_turns_are_sent_with_gemini_roles(server: FakeServer) -> None:
    resp = call(gem(server), "첫 질문", "첫 답변", "둘째 질문")
    assert resp.content == answer_for(
        "gemini-x", "\x01".join([SYSTEM, "첫 질문", "첫 답변", "둘째 질문"]), 5)


@pytest.mark.parametrize("stream", [False, True])
def test_thought_parts_kept_apart(server: FakeServer, stream: bool) -> None:
    resp = call(gem(server, stream=stream, reasoning={"thinking_budget": 1024}))
    thought = "gemini-x 생각 2"
    assert resp.reasoning == thought
    assert resp.content == answer_for("gemini-x", CONVO, 5)
    assert "생각" not in resp.content
    thought_tokens = len(thought.encode()) // 4
    assert resp.usage.reasoning_tokens == thought_tokens
    # Thinking is billed as output.
    assert resp.usage.output_tokens == len(resp.content.encode()) // 4 + thought_tokens


def test_429_carries_googles_retry_delay(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("429", retry_after=2)]
    with pytest.raises(RateLimitError) as info:
        call(gem(server))
    assert info.value.retry_after == 2.0
    assert "HTTP 429: injected 429" in str(info.value)


def test_retry_after_header_wins_over_retry_info() -> None:
    err = {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                        "retryDelay": "37s"}]}
    assert retry_delay({"retry-after": "5"}, err) == 5.0
    assert retry_delay({}, err) == 37.0
    assert retry_delay({}, {"details": [{"@type": "other", "retryDelay": "9s"}]}) is None


@pytest.mark.parametrize("kind", ["500", "503", "hang", "reset", "cut"])
@pytest.mark.parametrize("stream", [False, True])
def test_5xx_timeout_and_dropped_connection_are_transient(
        server: FakeServer, kind: str, stream: bool) -> None:
    server.state.config.faults = [FaultRule(kind)]
    with pytest.raises(TransientError):
        call(gem(server, stream=stream))
    assert server.state.stats()["faults"] == {kind: 1}


def test_stream_cut_mid_answer_is_transient(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("cut")]
    with pytest.raises(TransientError, match="response cut off"):
        call(gem(server, stream=True))
    # The next request gets the whole answer.
    assert call(gem(server, stream=True)).content == answer_for("gemini-x", CONVO, 5)


def test_other_4xx_is_fatal_with_googles_message(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("400")]
    with pytest.raises(FatalError, match="HTTP 400: injected 400"):
        call(gem(server))


@pytest.mark.parametrize("stream", [False, True])
def test_blocked_prompt_is_fatal_with_the_reason(server: FakeServer, stream: bool) -> None:
    server.state.config.faults = [FaultRule("blocked")]
    with pytest.raises(FatalError, match=r"prompt blocked \(SAFETY\)"):
        call(gem(server, stream=stream))


@pytest.mark.parametrize("stream", [False, True])
def test_filtered_answer_is_fatal_not_empty(server: FakeServer, stream: bool) -> None:
    server.state.config.faults = [FaultRule("filtered")]
    with pytest.raises(FatalError, match=r"no answer text \(finishReason=SAFETY\)"):
        call(gem(server, stream=stream))


def test_key_only_in_header_and_scrubbed_from_errors(server: FakeServer) -> None:
    # The fake server refuses a key in the URL, so this also shows it is not there.
    server.state.config.require_key = KEY
    assert call(gem(server)).content
    assert call(gem(server, stream=True)).content
    server.state.config.require_key = "AIza-another-key-987654321"
    with pytest.raises(FatalError) as info:
        call(gem(server))
    # The fake server echoes the key it was given.
    assert "HTTP 400: API key not valid: ***" in str(info.value)
    assert KEY not in str(info.value) and KEY[:8] not in str(info.value)
    assert KEY[-6:] not in str(info.value)
    with pytest.raises(FatalError, match="HTTP 403: Method doesn't allow unregistered callers"):
        call(gem(server, key=None))


def test_config_types_defaults_and_reasoning_checks() -> None:
    cfg = parse_model_endpoint("g", {"api_type": "google", "model_name": "gemini-2.5-pro",
                                     "endpoints": None}, "test", env={"GEMINI_API_KEY": KEY})
    assert cfg.endpoints[0].api_base == GEMINI.api_base
    assert cfg.endpoints[0].api_key is not None and cfg.endpoints[0].api_key.reveal() == KEY
    for reasoning, message in (
        ({"budget": 5}, "unknown keys"),
        ({"thinking_budget": 512, "thinking_level": "high"}, "give one of"),
        ({"thinking_budget": -2}, "integer >= -1"),
        ({"thinking_budget": "lots"}, "integer >= -1"),
        ({"include_thoughts": "yes"}, "true or false"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_model_endpoint("g", {"api_type": "gemini", "reasoning": reasoning},
                                 "test", env={})


def test_engine_picks_the_provider_by_api_type_and_retries(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("503", times=1)]
    cfg = gem(server)

    async def go() -> tuple[ChatResponse, int]:
        pool = ProviderPool({"gemini-x": cfg}, retry=RetryPolicy(attempts=3, base=0.01), seed=1)
        try:
            resp = await pool.chat(request(cfg))
            return resp, pool.usage()["gemini-x"].retries
        finally:
            await pool.aclose()

    resp, retries = asyncio.run(go())
    assert resp.content == answer_for("gemini-x", CONVO, 5)
    assert retries == 1
    assert server.state.stats()["faults"] == {"503": 1}


def test_koarena_answer_with_a_gemini_endpoint(server: FakeServer, tmp_path: Path) -> None:
    server.state.config.require_key = KEY
    server.state.config.faults = [FaultRule("429", match="둘째", retry_after=0)]
    questions = [{"question_id": f"g{i}", "category": "t", "cluster": "c",
                  "turns": [{"content": text}]}
                 for i, text in enumerate(["첫째 질문", "둘째 질문", "셋째 질문"])]
    bench = tmp_path / "data" / "gbench"
    bench.mkdir(parents=True)
    (bench / "question.jsonl").write_bytes(b"".join(orjson.dumps(q) + b"\n" for q in questions))
    settings = tmp_path / "gen_answer_config.yaml"
    settings.write_text("bench_name: gbench\ntemperature: 0.0\nmax_tokens: 256\n"
                        "model_list: [gem-think]\n", encoding="utf-8")
    endpoints = tmp_path / "api_config.yaml"
    endpoints.write_text(
        "gem-think:\n  model_name: gemini-2.5-flash\n  api_type: gemini\n"
        f"  endpoints:\n    - api_base: {server.gemini_base_url}\n"
        "      api_key: ${KOARENA_TEST_GEMINI_KEY}\n"
        "  reasoning: {thinking_budget: 512}\n  stream: true\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
    env["KOARENA_TEST_GEMINI_KEY"] = KEY
    proc = subprocess.run(
        [sys.executable, "-m", "koarena", "-v", "answer", "--setting-file", str(settings),
         "--endpoint-file", str(endpoints), "--data-dir", str(tmp_path / "data"),
         "--retry-base", "0.01"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "3 done, 0 skipped" in proc.stderr
    assert "1 retries" in proc.stderr
    records = [orjson.loads(x) for x in (bench / "model_answer" / "gem-think.jsonl"
                                         ).read_bytes().splitlines()]
    assert sorted(r["question_id"] for r in records) == ["g0", "g1", "g2"]
    for rec in records:
        q = next(q for q in questions if q["question_id"] == rec["question_id"])
        (turn,) = rec["choices"][0]["turns"]
        assert turn["content"] == answer_for("gemini-2.5-flash", q["turns"][0]["content"], 5)
        assert turn["reasoning"] == "gemini-2.5-flash 생각 1"
        assert rec["conv_metadata"] == conv_metadata(turn["content"]).to_dict()
    texts = [proc.stdout, proc.stderr] + [p.read_text(encoding="utf-8") for p in
                                          tmp_path.rglob("*") if p.is_file()
                                          and p.name != "api_config.yaml"]
    assert not any(KEY in t or KEY[:8] in t for t in texts)


def test_example_gemini_entry_answers_the_demo_bench(tmp_path: Path) -> None:
    """``demo-gemini`` of examples/api_config.yaml, as docs/generation.md suggests running it."""
    repo = Path(__file__).resolve().parents[2]
    srv = FakeServer(FakeConfig.from_file(repo / "examples" / "fake_server.yaml"))
    srv.start_in_thread()
    try:
        endpoints = tmp_path / "api_config.yaml"
        endpoints.write_text((repo / "examples" / "api_config.yaml").read_text(
            encoding="utf-8").replace("http://127.0.0.1:8765/v1", srv.base_url),
            encoding="utf-8")
        data = tmp_path / "data"
        shutil.copytree(repo / "examples" / "demo-bench", data / "demo-bench")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
        proc = subprocess.run(
            [sys.executable, "-m", "koarena", "answer", "--model", "demo-gemini",
             "--setting-file", "examples/gen_answer_config.yaml",
             "--endpoint-file", str(endpoints), "--data-dir", str(data)],
            cwd=repo, env=env, capture_output=True, text=True, timeout=120, check=False)
    finally:
        srv.stop_thread()
    assert proc.returncode == 0, proc.stderr
    assert "8 done, 0 skipped" in proc.stderr
    records = [orjson.loads(x) for x in (data / "demo-bench" / "model_answer" /
                                         "demo-gemini.jsonl").read_bytes().splitlines()]
    assert len(records) == 8
    for rec in records:
        (turn,) = rec["choices"][0]["turns"]
        assert turn["reasoning"] == "gemini-2.5-flash 생각 1"
        assert "생각" not in turn["content"]
    assert srv.state.stats()["by_model"] == {"gemini-2.5-flash": 8}


@pytest.mark.parametrize("kind", ["blocked", "filtered"])
@pytest.mark.parametrize("stream", [False, True])
def test_filter_faults_over_the_openai_route_are_fatal(
        server: FakeServer, kind: str, stream: bool) -> None:
    """The same faults in OpenAI's shape (empty content, ``finish_reason: content_filter``)."""
    server.state.config.faults = [FaultRule(kind)]
    cfg = parse_model_endpoint("m", {"endpoints": [{"api_base": server.base_url}],
                                     "stream": stream}, "test", env={})

    async def go() -> ChatResponse:
        p = OpenAICompatProvider(cfg, cfg.endpoints[0])
        try:
            return await p.chat(request(cfg))
        finally:
            await p.aclose()

    with pytest.raises(FatalError, match=r"empty completion \(finish_reason=content_filter\)"):
        asyncio.run(go())


@pytest.mark.parametrize("kind", ["blocked", "filtered"])
def test_filter_faults_over_the_anthropic_route_are_fatal(server: FakeServer, kind: str) -> None:
    """The same faults in Anthropic's shape (no text block, ``stop_reason: refusal``)."""
    server.state.config.faults = [FaultRule(kind)]
    cfg = parse_model_endpoint("c", {"api_type": "anthropic", "endpoints": [
        {"api_base": server.base_url}]}, "test", env={})

    async def go() -> ChatResponse:
        p = AnthropicProvider(cfg, cfg.endpoints[0])
        try:
            return await p.chat(request(cfg))
        finally:
            await p.aclose()

    with pytest.raises(FatalError, match=r"empty completion \(stop_reason=refusal\)"):
        asyncio.run(go())
