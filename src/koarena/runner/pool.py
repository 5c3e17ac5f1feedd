"""The provider pool: every request of a run goes through `ProviderPool.chat`.

`chat` holds one of the model's ``parallel`` slots per request in flight, waits for the
RPM/TPM budget, spreads requests over the model's endpoints (least busy first), retries
`RateLimitError`/`TransientError` with exponential backoff and jitter (honouring
``Retry-After``) up to ``RetryPolicy.attempts`` attempts, and sums usage and cost per model.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from koarena.config import ModelEndpoint, Price
from koarena.errors import ConfigError
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    Provider,
    ProviderError,
    RateLimitError,
    TransientError,
    Usage,
)
from koarena.providers.registry import make_providers
from koarena.style import count_tokens

log = logging.getLogger(__name__)

ProviderFactory = Callable[[ModelEndpoint], list[Provider]]


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; delays grow as ``base * 2**n`` up to ``cap``, with jitter."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) after ``error``."""
        backoff = min(self.cap, self.base * 2.0 ** (attempt - 1))
        jittered = backoff * (0.5 + rng.random() / 2)
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            # The server's own number wins, plus a little jitter so that all the requests it
            # turned away do not come back in the same instant.
            return min(self.max_retry_after, retry_after) + rng.random() * 0.1 * backoff
        return jittered


class RateLimiter:
    """A per-minute budget (requests or tokens) as a token bucket that may go into debt.

    `reserve` takes ``cost`` at once and returns how long the caller must wait, so concurrent
    callers queue up in order without a lock. ``burst_seconds`` of budget may be spent at once.
    """

    def __init__(self, per_minute: float, burst_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def reserve(self, cost: float) -> float:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        self.level -= cost
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def adjust(self, delta: float) -> None:
        """Charge (or refund) the difference between an estimate and the actual cost."""
        self.level -= delta


@dataclass
class ModelUsage:
    requests: int = 0
    retries: int = 0
    tokens: Usage = field(default_factory=Usage)
    """The tokens of every response, summed."""
    cost: float = 0.0
    cost_without_cache: float = 0.0
    """What the same tokens would have cost with every input token at the input rate."""
    cost_online: float = 0.0
    """What the same tokens would have cost online (differs from ``cost`` for batches)."""
    batch_requests: int = 0

    def add(self, usage: Usage, price: Price | None, *, batch: bool = False) -> None:
        """Count one response's tokens and, with a price, its dollars (at the batch rates
        when it came from a batch)."""
        self.requests += 1
        self.tokens += usage
        self.batch_requests += batch
        if price is not None:
            online = price.cost(usage.input_tokens, usage.output_tokens,
                                cached=usage.cached_input_tokens,
                                cache_write=usage.cache_write_tokens)
            self.cost_online += online
            self.cost += price.cost(usage.input_tokens, usage.output_tokens,
                                    cached=usage.cached_input_tokens,
                                    cache_write=usage.cache_write_tokens,
                                    batch=True) if batch else online
            self.cost_without_cache += price.cost(usage.input_tokens, usage.output_tokens,
                                                  batch=batch)

    @property
    def saved_by_cache(self) -> float:
        return self.cost_without_cache - self.cost

    @property
    def saved_by_batch(self) -> float:
        return self.cost_online - self.cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            **asdict(self.tokens),
            "batch_requests": self.batch_requests,
            "cost_usd": round(self.cost, 6),
            "saved_by_cache_usd": round(self.saved_by_cache, 6),
            "saved_by_batch_usd": round(self.saved_by_batch, 6),
        }


class ModelSlot:
    """Per model: its providers, its parallel limit, its rate limiters, its usage."""

    def __init__(self, cfg: ModelEndpoint, providers: list[Provider]) -> None:
        if not providers:
            raise ConfigError(f"model {cfg.name!r} has no endpoints")
        self.cfg = cfg
        self.providers = providers
        self.in_flight = [0] * len(providers)
        self.next = 0
        self.sem = asyncio.Semaphore(cfg.parallel)
        self.rpm = RateLimiter(cfg.rpm) if cfg.rpm else None
        self.tpm = RateLimiter(cfg.tpm) if cfg.tpm else None
        self.usage = ModelUsage()

    def pick(self) -> int:
        """The least busy endpoint; ties rotate so that idle replicas all get work."""
        n = len(self.providers)
        best = min(range(n), key=lambda i: (self.in_flight[i], (i - self.next) % n))
        self.next = (best + 1) % n
        return best


class ProviderPool:
    """Providers for the models of an endpoint file; built lazily inside the running loop."""

    def __init__(self, endpoints: dict[str, ModelEndpoint],
                 factory: ProviderFactory | None = None,
                 retry: RetryPolicy | None = None, seed: int | None = None) -> None:
        self.endpoints = endpoints
        self.factory = factory or make_providers
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)
        self._slots: dict[str, ModelSlot] = {}

    def slot(self, model: str) -> ModelSlot:
        s = self._slots.get(model)
        if s is None:
            cfg = self.endpoints.get(model)
            if cfg is None:
                known = ", ".join(sorted(self.endpoints)) or "none"
                raise ConfigError(f"model {model!r} is not in the endpoint file (known: {known})")
            s = self._slots[model] = ModelSlot(cfg, self.factory(cfg))
        return s

    def usage(self) -> dict[str, ModelUsage]:
        return {name: s.usage for name, s in self._slots.items()}

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send ``request`` to ``request.model`` with limits and retries (see module doc)."""
        slot = self.slot(request.model)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(slot, request)
            except (RateLimitError, TransientError) as exc:
                if attempt >= self.retry.attempts:
                    raise
                wait = self.retry.delay(attempt, exc, self.rng)
                slot.usage.retries += 1
                log.debug("%s: %s; retry %d in %.2f s", request.model, exc, attempt, wait)
                await asyncio.sleep(wait)

    async def _once(self, slot: ModelSlot, request: ChatRequest) -> ChatResponse:
        estimate = 0
        if slot.tpm is not None:
            estimate = count_request_tokens(request)
        async with slot.sem:
            wait = 0.0
            if slot.rpm is not None:
                wait = slot.rpm.reserve(1)
            if slot.tpm is not None:
                wait = max(wait, slot.tpm.reserve(estimate))
            if wait > 0:
                await asyncio.sleep(wait)
            i = slot.pick()
            slot.in_flight[i] += 1
            try:
                resp = await slot.providers[i].chat(request)
            finally:
                slot.in_flight[i] -= 1
        slot.usage.add(resp.usage, slot.cfg.price)
        if slot.tpm is not None:
            slot.tpm.adjust(resp.usage.input_tokens + resp.usage.output_tokens - estimate)
        return resp

    async def aclose(self) -> None:
        for s in self._slots.values():
            for p in s.providers:
                await p.aclose()
        self._slots.clear()


def count_request_tokens(request: ChatRequest) -> int:
    """Input tokens of a request as cl100k_base counts them, with chat-format overhead."""
    # 4 tokens of chat-format overhead per message, as OpenAI's cookbook counts them.
    return sum(count_tokens(m.content) + 4 for m in request.messages) + 3
