"""The provider contract: one async call, typed results, classified failures.

Every provider module (OpenAI-compatible, Anthropic, Gemini; `koarena.providers.registry`
picks one by ``api_type``) implements `Provider.chat`. It never returns error text as content: a
failure is raised as one of the `ProviderError` subclasses below, which tell the runner's pool
whether to retry. Tests run the real providers against `koarena.testing`'s fake server.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import urllib.parse
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

    def __add__(self, other: Usage) -> Usage:
        """Both responses' tokens together (a model's total over a run)."""
        return Usage(*(a + b for a, b in zip(dataclasses.astuple(self),
                                             dataclasses.astuple(other), strict=True)))


@dataclass(frozen=True)
class ChatResponse:
    """A successful completion. ``reasoning`` is kept apart from ``content``."""

    content: str
    reasoning: str = ""
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None


_MAX_MESSAGE = 500


def secret_forms(secret: str, *, fragments: bool = True) -> list[str]:
    """Every form in which a provider may echo ``secret``, longest first: as is, URL-encoded,
    inside base64 (standard and URL-safe, at each of the three byte alignments, so that
    ``base64("Bearer <key>")`` is caught too), and with ``fragments`` the ``sk-abc…xyz`` ends
    of a masked echo (only for error messages: an answer may well say "sk-proj-")."""
    if not secret:
        return []
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
    raw = secret.encode()
    for k in range(3):
        # With k bytes before the key, the base64 characters from the second group on, up to
        # the last whole group, depend on the key's bytes alone.
        encoded = base64.b64encode(b"\0" * k + raw).decode()
        core = encoded[4 if k else 0: 4 * ((k + len(raw)) // 3)]
        if len(core) >= 12:
            forms |= {core, core.replace("+", "-").replace("/", "_")}
    if fragments and len(secret) >= 12:
        forms |= {secret[:8], secret[-6:]}
    return sorted(forms, key=len, reverse=True)


def redact(text: str, forms: list[str]) -> str:
    """``text`` with each of ``forms`` (from `secret_forms`) replaced by ``***``."""
    for form in forms:
        text = text.replace(form, "***")
    return text


def scrub(text: str, secret: str) -> str:
    """A provider's message without the key in any form (`secret_forms`), then shortened:
    replacing first, so that cutting never leaves a piece of the key behind."""
    return redact(text, secret_forms(secret))[:_MAX_MESSAGE]


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


class Redactor:
    """Takes one endpoint's API key out of what its provider returned or raised.

    Responses lose the whole forms of the key (`secret_forms` without fragments) in every text
    field, including fields a provider adds later, so an answer changes only where it really
    holds the key; errors lose the masked fragments too, then are shortened. Any path that
    turns provider output into records (online or batch) runs it through here.
    """

    def __init__(self, secret: str) -> None:
        self._forms = secret_forms(secret)
        self._whole_forms = secret_forms(secret, fragments=False)

    def response(self, resp: ChatResponse) -> ChatResponse:
        """``resp`` with the key gone from each of its text fields."""
        if not self._whole_forms:
            return resp
        changes: dict[str, Any] = {
            f.name: redact(value, self._whole_forms)
            for f in dataclasses.fields(resp)
            if isinstance(value := getattr(resp, f.name), str)
        }
        return dataclasses.replace(resp, **changes)

    def error(self, exc: ProviderError) -> ProviderError:
        """A copy of ``exc`` (same class and retry hint) with its message redacted and
        shortened, not chained to the original, whose text still holds the key."""
        clean = copy.copy(exc)
        clean.args = (redact(str(exc), self._forms)[:_MAX_MESSAGE],)
        return clean


class ScrubbedProvider:
    """A provider whose every string (content, reasoning, finish reason, error messages) is
    redacted of its endpoint's API key (`Redactor`) before anything else sees it.

    Every provider the registry makes is wrapped in one, so a provider module cannot forget a
    field: a key echoed by a proxy, an error body or a finish reason never reaches a file, a
    log line or the terminal.
    """

    def __init__(self, inner: Provider, secret: str) -> None:
        self.inner = inner
        self.redactor = Redactor(secret)

    def __repr__(self) -> str:
        return repr(self.inner)

    async def chat(self, request: ChatRequest) -> ChatResponse:
        clean: ProviderError | None = None
        try:
            resp = await self.inner.chat(request)
        except ProviderError as exc:
            clean = self.redactor.error(exc)
        if clean is not None:
            # Raised outside the handler, so neither __cause__ nor __context__ refers to the
            # original exception.
            raise clean
        return self.redactor.response(resp)

    async def aclose(self) -> None:
        await self.inner.aclose()
