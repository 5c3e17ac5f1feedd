"""Pure parts of the engine: rate budget, backoff, request shapes, reasoning split."""

from __future__ import annotations

import asyncio
import random

import pytest

from koarena.config import parse_model_endpoint
from koarena.providers.base import ChatRequest, Message, RateLimitError, TransientError
from koarena.providers.http import parse_retry_after
from koarena.providers.openai_compat import split_think
from koarena.runner.pool import RateLimiter, RetryPolicy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_queues_callers_in_order() -> None:
    clock = Clock()
    rl = RateLimiter(60, burst_seconds=2, clock=clock)  # 1 per second, burst of 2
    assert [rl.reserve(1) for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]
    clock.now = 10.0  # refilled to capacity, debt repaid
    assert rl.reserve(1) == 0.0
    rl.adjust(5)  # actual cost turned out 5 more than reserved
    assert rl.reserve(0) == 4.0


def test_rate_limiter_large_cost_waits_for_refill() -> None:
    rl = RateLimiter(6000, burst_seconds=1, clock=Clock())  # 100 tokens per second
    assert rl.reserve(300) == 2.0


def test_backoff_grows_and_honours_retry_after() -> None:
    policy = RetryPolicy(base=1.0, cap=8.0)
    rng = random.Random(0)
    delays = [policy.delay(n, TransientError("x"), rng) for n in (1, 2, 3, 4, 5)]
    bounds = [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (4.0, 8.0)]
    assert all(lo <= d <= hi for d, (lo, hi) in zip(delays, bounds, strict=True))
    d = policy.delay(1, RateLimitError("x", retry_after=7.0), rng)
    assert 7.0 <= d <= 7.1
    assert 300.0 <= RetryPolicy().delay(1, RateLimitError("x", 9999.0), rng) <= 300.1


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<think>\nstep 1\n</think>\n\n답변", ("답변", "step 1")),
        ("  <think>a</think>b", ("b", "a")),
        ("reasoning only close</think>Answer", ("Answer", "reasoning only close")),
        ("no think here", ("no think here", "")),
        ("text <think>x</think> later", ("text <think>x</think> later", "")),
    ],
)
def test_split_think(content: str, expected: tuple[str, str]) -> None:
    assert split_think(content) == expected


def test_parse_retry_after() -> None:
    assert parse_retry_after({"retry-after": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"retry-after": "soon"}) is None


def test_request_shapes() -> None:
    asyncio.run(_request_shapes())


async def _request_shapes() -> None:
    from koarena.providers.openai_compat import OpenAICompatProvider

    req = ChatRequest("m", [Message("user", "hi")], temperature=0.0, max_tokens=100,
                      extra_body={"seed": 3})
    o = parse_model_endpoint("o4-mini-high", {"model_name": "o4-mini", "reasoning_effort": "high",
                                              "endpoints": [{"api_base": "http://127.0.0.1:9/v1"}]},
                             "x", env={})
    p = OpenAICompatProvider(o, o.endpoints[0])
    assert p.build_body(req) == {
        "model": "o4-mini", "messages": [{"role": "user", "content": "hi"}],
        "max_completion_tokens": 100, "reasoning_effort": "high", "seed": 3,
    }
    await p.aclose()
    r = parse_model_endpoint("r1", {"model_name": "deepseek/deepseek-r1", "stream": True,
                                    "reasoning": {"max_tokens": 2000},
                                    "extra_body": {"provider": {"order": ["x"]}},
                                    "endpoints": [{"api_base": "http://127.0.0.1:9/v1"}]},
                             "x", env={})
    p = OpenAICompatProvider(r, r.endpoints[0])
    assert p.build_body(req) == {
        "model": "deepseek/deepseek-r1", "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.0, "max_tokens": 100, "reasoning": {"max_tokens": 2000},
        "stream": True, "stream_options": {"include_usage": True},
        "provider": {"order": ["x"]}, "seed": 3,
    }
    await p.aclose()
