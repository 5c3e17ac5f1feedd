"""The provider contract: one async call, typed results, classified failures.

Every provider module (OpenAI-compatible, Anthropic, Gemini; `koarena.providers.registry`
picks one by ``api_type``) implements `Provider.chat`. It never returns error text as content: a
failure is raised as one of the `ProviderError` subclasses below, which tell the runner's pool
whether to retry. Tests run the real providers against `koarena.testing`'s fake server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """One turn. ``shared_prefix`` is how many leading characters of ``content`` other requests
    of the run repeat (a judge prompt's question and baseline answer): a provider whose cache
    needs explicit breakpoints (Anthropic) may mark it; the others ignore it."""

    role: str  # "system" | "user" | "assistant"
    content: str
    shared_prefix: int = 0


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion request, provider-neutral."""

    model: str
    messages: list[Message]
    temperature: float | None = None
    max_tokens: int | None = None
    reasoning: dict[str, Any] = field(default_factory=dict)  # e.g. {"effort": "high"}
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Usage:
    """Token counts of one response. ``input_tokens`` counts every prompt token, those read
    from the provider's prompt cache (``cached_input_tokens``) and those written to it
    (``cache_write_tokens``, Anthropic only) included: each kind has its own price."""

    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class ChatResponse:
    """A successful completion. ``reasoning`` is kept apart from ``content``."""

    content: str
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


_MAX_MESSAGE = 500


def scrub(text: str, secret: str) -> str:
    """A provider's message, shortened, without the key or the fragments providers echo back
    (``sk-abc…xyz``)."""
    text = text[:_MAX_MESSAGE]
    if secret:
        text = text.replace(secret, "***")
        if len(secret) >= 12:
            text = text.replace(secret[:8], "***").replace(secret[-6:], "***")
    return text


class ProviderError(Exception):
    """Base class of provider failures. Messages must never contain API keys."""

    retryable = False


class RateLimitError(ProviderError):
    """429: retry after ``retry_after`` seconds when the server said so."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(ProviderError):
    """5xx, timeout, dropped connection, stream cut: retry with backoff."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalError(ProviderError):
    """Any other 4xx or an unusable response: fail at once with the provider's message."""


class Provider(Protocol):
    """What the runner's pool calls. One instance per endpoint, reused for every request."""

    async def chat(self, request: ChatRequest) -> ChatResponse: ...

    async def aclose(self) -> None: ...
