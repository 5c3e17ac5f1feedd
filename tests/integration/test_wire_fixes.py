"""Against the fake server on 127.0.0.1: Anthropic streaming at judge scale, finish reasons of
cut-off answers over the three APIs, cached-token usage, and a judge run whose shared prompt
prefix is read from Anthropic's cache and priced at the cached rate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.answering import answer
from koarena.bench import Bench
from koarena.config import (
    AnswerSettings,
    Endpoint,
    ModelEndpoint,
    load_judge_settings,
    parse_model_endpoint,
)
from koarena.controls import Control
from koarena.datacheck import check_bench
from koarena.finish import FinishPolicy
from koarena.judge_protocol import JudgeProtocol, build_messages
from koarena.judging import judge, plan_judging
from koarena.leaderboard import compute_leaderboard
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    Message,
    Provider,
    TransientError,
)
from koarena.providers.gemini import GeminiProvider
from koarena.providers.openai_compat import OpenAICompatProvider
from koarena.runner.run import StageRunner
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for
from koarena.testing.model import tokens

SYSTEM = "너는 공정한 심판이다. " * 20
BENCH = "ko-arena-hard-v0.1"
PRICE = {"input": 3.0, "output": 15.0, "cached_input": 0.3, "cache_write": 3.75}


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=8))


def endpoint(srv: FakeServer, api_type: str, **extra: Any) -> ModelEndpoint:
    base = srv.gemini_base_url if api_type == "gemini" else srv.base_url
    return parse_model_endpoint("mdl", {"api_type": api_type, "model_name": "mdl",
                                        "endpoints": [{"api_base": base}], **extra},
                                "test", env={})


PROVIDERS: dict[str, Callable[[ModelEndpoint, Endpoint], Provider]] = {
    "openai": OpenAICompatProvider, "anthropic": AnthropicProvider,
             "gemini": GeminiProvider}


def ask(cfg: ModelEndpoint, *texts: str, max_tokens: int = 64) -> list[ChatResponse]:
    """Send one request per user text, in order, over one provider."""
    async def go() -> list[ChatResponse]:
        p = PROVIDERS[cfg.api_type](cfg, cfg.endpoints[0])
        try:
            return [await p.chat(ChatRequest("mdl", [Message("system", SYSTEM),
                                                     Message("user", t)], 0.0, max_tokens))
                    for t in texts]
        finally:
            await p.aclose()

    return asyncio.run(go())


def test_claude_with_thinking_at_judge_scale_is_streamed(server: FakeServer) -> None:
    cfg = endpoint(server, "anthropic", reasoning={"budget_tokens": 16_000})
    first, second = ask(cfg, "질문", "질문", max_tokens=16_384)
    assert first.content == answer_for("mdl", f"{SYSTEM}\x01질문", 8)
    assert first.reasoning == "mdl 생각 1"
    assert first.finish_reason == "end_turn"
    prompt = tokens(SYSTEM + "질문")
    thinking_and_text = tokens("mdl 생각 1" + first.content)
    assert (first.usage.input_tokens, first.usage.output_tokens) == (prompt, thinking_and_text)
    # The marked system prompt: written to the cache by the first request, read by the next.
    assert (first.usage.cache_write_tokens, first.usage.cached_input_tokens) == (
        tokens(SYSTEM), 0)
    assert (second.usage.cache_write_tokens, second.usage.cached_input_tokens) == (
        0, tokens(SYSTEM))


def test_a_cut_claude_stream_is_transient(server: FakeServer) -> None:
    server.state.config.faults = [FaultRule("cut")]
    with pytest.raises(TransientError, match=r"cut off|stream ended"):
        ask(endpoint(server, "anthropic", stream=True), "질문")


@pytest.mark.parametrize(("api_type", "reason"), [
    ("openai", "length"), ("anthropic", "max_tokens"), ("gemini", "MAX_TOKENS")])
@pytest.mark.parametrize("stream", [False, True])
def test_cut_off_answers_keep_their_finish_reason(server: FakeServer, api_type: str,
                                                  reason: str, stream: bool) -> None:
    server.state.config.faults = [FaultRule("truncated")]
    (resp,) = ask(endpoint(server, api_type, stream=stream), "질문")
    full = answer_for("mdl", f"{SYSTEM}\x01질문", 8)
    assert resp.content == full[: len(full) // 2]
    assert resp.finish_reason == reason


@pytest.mark.parametrize("api_type", ["openai", "gemini"])
def test_implicit_cache_hits_are_read_from_usage(server: FakeServer, api_type: str) -> None:
    first, second = ask(endpoint(server, api_type), "질문 1", "질문 2")
    assert first.usage.cached_input_tokens == 0
    assert second.usage.cached_input_tokens == tokens(SYSTEM)
    assert second.usage.input_tokens == tokens(SYSTEM + "질문 2")


def test_judge_run_reads_the_shared_prefix_from_the_cache(
        small_bench: Callable[..., Path], server: FakeServer) -> None:
    """Judging a second model: game 1 repeats the system prompt, the question and the
    baseline's answer, game 2 the system prompt and the question, all read from the cache
    the first model's judging wrote (thinking on, so every request is streamed)."""
    data = small_bench(("claude-3.7-sonnet", "gpt-4o-mini", "o3-high"), 3)
    bench = Bench(data, BENCH)
    cfg = endpoint(server, "anthropic", reasoning={"budget_tokens": 16_000}, price=PRICE)
    endpoints = {"mdl": cfg}
    protocol = JudgeProtocol.from_settings(load_judge_settings(None, bench.judge_config_file))
    baseline = "claude-3.7-sonnet"
    runs = []
    for model in ("gpt-4o-mini", "o3-high"):
        plan = plan_judging(bench, protocol, {"mdl": "mdl"}, [model], baseline)
        runs.append(judge(bench, plan, StageRunner(endpoints)))
        assert runs[-1].done == 3
    usage = runs[1].usage["mdl"]
    counted = usage.tokens
    expected_read = 0
    for j in bench.load_judgments("mdl", "o3-high"):
        for game in j.games:
            assert game is not None
            assert game.extra["finish_reasons"] == ["end_turn"]
            expected_read += game.extra["usage"]["cached_input_tokens"]
    questions = {q.question_id: q for q in bench.load_questions()}
    base_answers = bench.load_answers(baseline)
    model_answers = bench.load_answers("o3-high")
    shared = 0
    for qid, q in questions.items():
        game1 = build_messages(protocol, q, base_answers[qid], model_answers[qid], "B")
        game2 = build_messages(protocol, q, model_answers[qid], base_answers[qid], "A")
        assert game1[1].shared_prefix > game2[1].shared_prefix > 0
        shared += tokens(game1[0].content + game1[1].content[:game1[1].shared_prefix])
        shared += tokens(game2[0].content + game2[1].content[:game2[1].shared_prefix])
    assert counted.cached_input_tokens == expected_read == shared
    # Nothing past the marks is new: the first run wrote it all.
    assert (counted.cache_write_tokens, runs[0].usage["mdl"].tokens.cache_write_tokens > 0) == (
        0, True)
    price = cfg.price
    assert price is not None
    assert usage.cost == pytest.approx(price.cost(
        counted.input_tokens, counted.output_tokens, cached=counted.cached_input_tokens,
        cache_write=counted.cache_write_tokens))
    assert usage.saved_by_cache == pytest.approx(
        (counted.cached_input_tokens * (3.0 - 0.3) - counted.cache_write_tokens * (3.75 - 3.0))
        / 1e6)
    assert check_bench(bench).judgments["mdl"]["o3-high"].problems == 0


@pytest.mark.parametrize(("policy", "requests", "finish", "truncated", "kept"), [
    ("flag", 3, "length", 1, 0), ("keep", 3, "length", 0, 1), ("retry", 4, "stop", 0, 0)])
def test_answer_run_applies_the_finish_policy(
        small_bench: Callable[..., Path], server: FakeServer, policy: str, requests: int,
        finish: str, truncated: int, kept: int) -> None:
    data = small_bench(("claude-3.7-sonnet",), 3)
    bench = Bench(data, BENCH)
    first = bench.load_questions()[0]
    server.state.config.faults = [FaultRule("truncated", match=first.turns[0][:20])]
    settings = AnswerSettings(bench_name=BENCH, model_list=["mdl"], max_tokens=100,
                              finish_policy=FinishPolicy(policy))
    result = answer(bench, ["mdl"], settings, StageRunner({"mdl": endpoint(server, "openai")}))
    assert result.done == 3
    assert server.state.total == requests
    record = bench.load_answers("mdl")[first.question_id]
    assert record.finish_reasons == [finish]
    rep = check_bench(bench).answers["mdl"]
    assert (rep.flagged.truncated, rep.flagged.kept, rep.problems) == (truncated, kept, truncated)


def test_leaderboard_counts_cut_off_and_filtered_answers(
        small_bench: Callable[..., Path]) -> None:
    data = small_bench(("claude-3.7-sonnet", "gpt-4o-mini", "o3-high"), 6)
    bench = Bench(data, BENCH)
    path = bench.answer_file("gpt-4o-mini")
    rows = [orjson.loads(x) for x in path.read_bytes().splitlines()]
    for rec, finish, keep in zip(rows, ["length", "SAFETY", "max_tokens", "stop"],
                                 [False, False, True, False], strict=False):
        rec["choices"][0]["turns"][-1]["finish_reason"] = finish
        if keep:
            rec["finish_policy"] = "keep"
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    board = compute_leaderboard(bench, Control.NONE, rounds=0)
    row = board.row("gpt-4o-mini")
    # The kept one is not a problem; the others are flagged.
    assert (row.truncated_answers, row.filtered_answers) == (1, 1)
    assert board.row("o3-high").truncated_answers == 0
    assert board.flagged_answers == 2 + sum(r.failed_answers + r.empty_answers
                                            for r in board.rows)
