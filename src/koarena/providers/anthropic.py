"""Anthropic's native Messages API over aiohttp (``api_type: anthropic``).

Same transport as the OpenAI-compatible provider (one aiohttp session per endpoint, no SDK), so
it needs no extra package. The request differs: system prompts go in ``system``, ``max_tokens``
is required, and a thinking budget (``reasoning: {budget_tokens: N}``) is sent as
``thinking: {type: enabled, budget_tokens: N}``, with no temperature (Anthropic rejects one
other than 1 with thinking) and ``max_tokens`` raised by the budget, so that thinking does not
eat the answer's tokens. The reply's ``thinking`` blocks become `ChatResponse.reasoning`;
only ``text`` blocks are the content. 429 is a rate limit, 529 (overloaded), 5xx and 408 are
transient, any other 4xx is fatal with Anthropic's message.

Long requests are streamed (server-sent events), as Anthropic's SDK insists: it refuses a
non-streamed request whose ``max_tokens`` could take more than ten minutes at its assumed
128,000 tokens per hour, i.e. above `STREAM_ABOVE_TOKENS` (16,384 + a 16,000 thinking budget is
above it). A non-streamed request that long can hit an idle-connection timeout and be retried,
each attempt possibly billed. ``stream: true|false`` in the endpoint overrides the rule.

Prompt caching: with ``prompt_cache`` on (the default) the system prompt and a message's shared
prefix (`Message.shared_prefix`: a judge prompt's question and baseline answer, repeated for
every judged model) carry ``cache_control: {type: ephemeral}``. Anthropic caches a prefix only
from a model-dependent minimum length (1,024 tokens or more) and ignores shorter marks, so the
marks are harmless when they do not pay. Usage reports ``cache_read_input_tokens`` and
``cache_creation_input_tokens`` apart from ``input_tokens``; all three are input.

``anthropic-version`` stays ``2023-06-01`` by default: ``2026-10-21`` rejects ``temperature``
outright, and the arena-hard protocol asks judges for temperature 0 (docs/generation.md). An
endpoint may set ``anthropic_version``; from ``2026-10-21`` on no temperature is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import aiohttp

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    Message,
    Usage,
)
from koarena.providers.http import HttpProvider

ANTHROPIC_VERSION = "2023-06-01"
# The first version without sampling parameters (temperature, top_p, top_k).
NO_SAMPLING_VERSION = "2026-10-21"
# Anthropic requires max_tokens; arena-hard settings always give one, this covers requests
# that do not.
DEFAULT_MAX_TOKENS = 4096
# The SDK's rule: expected time = 60 min * max_tokens / 128,000 must stay within 10 min.
STREAM_ABOVE_TOKENS = 128_000 * 10 // 60
_EPHEMERAL = {"type": "ephemeral"}


def needs_stream(max_tokens: int) -> bool:
    """Whether the SDK would refuse ``max_tokens`` without streaming.

    >>> needs_stream(16_384), needs_stream(21_333), needs_stream(21_334), needs_stream(32_384)
    (False, False, True, True)
    """
    return max_tokens > STREAM_ABOVE_TOKENS


def _text_blocks(msg: Message, cache: bool) -> str | list[dict[str, Any]]:
    """A message's content: plain text, or two text blocks with the shared prefix marked."""
    cut = msg.shared_prefix
    if not cache or cut <= 0 or cut >= len(msg.content):
        return msg.content
    return [{"type": "text", "text": msg.content[:cut], "cache_control": _EPHEMERAL},
            {"type": "text", "text": msg.content[cut:]}]


@dataclass
class _Collected:
    """A response, or the events of a streamed one, gathered."""

    text: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    stop: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)


class AnthropicProvider(HttpProvider):
    """One endpoint of one Claude model. Create inside a running event loop; `aclose` it."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        self.version = model.anthropic_version or ANTHROPIC_VERSION
        super().__init__(model, endpoint, f"{endpoint.api_base}/messages",
                         {"anthropic-version": self.version})

    def _key_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The Messages API body for ``request``."""
        m = self.model
        cache = m.prompt_cache
        systems = [msg.content for msg in request.messages if msg.role == "system"]
        reasoning = {**m.reasoning, **request.reasoning}
        budget = reasoning.get("budget_tokens", reasoning.get("max_tokens"))
        max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
        body: dict[str, Any] = {
            "model": m.model_name,
            "messages": [{"role": msg.role, "content": _text_blocks(msg, cache)}
                         for msg in request.messages if msg.role != "system"],
        }
        if systems:
            system = "\n\n".join(systems)
            body["system"] = ([{"type": "text", "text": system, "cache_control": _EPHEMERAL}]
                              if cache else system)
        if budget:
            body["thinking"] = {"type": "enabled", "budget_tokens": int(budget)}
            body["max_tokens"] = max_tokens + int(budget)
        else:
            body["max_tokens"] = max_tokens
            if request.temperature is not None and self.version < NO_SAMPLING_VERSION:
                body["temperature"] = request.temperature
        stream = m.stream if m.stream is not None else needs_stream(body["max_tokens"])
        if stream:
            body["stream"] = True
        body.update(m.extra_body)
        body.update(request.extra_body)
        return body

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send ``request``; the answer, or a `ProviderError` saying whether to retry."""
        body = self.build_body(request)
        got = _Collected()
        if body.get("stream"):
            await self._post(body, lambda resp: self._read_stream(resp, got))
        else:
            self._collect(await self._post_json(body), got)
        return self._finish(got)

    def parse_message(self, data: Any) -> ChatResponse:
        """A whole (not streamed) Messages API reply, as `chat` reads it."""
        got = _Collected()
        self._collect(data, got)
        return self._finish(got)

    def _collect(self, data: Any, got: _Collected) -> None:
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise FatalError(f"{self._where()}: response has no content blocks")
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "text":
                got.text.append(str(b.get("text", "")))
            elif isinstance(b, dict) and b.get("type") == "thinking":
                got.thinking.append(str(b.get("thinking", "")))
        got.stop = data.get("stop_reason")
        got.usage = data.get("usage") or {}

    async def _read_stream(self, resp: aiohttp.ClientResponse, got: _Collected) -> None:
        """Gather the SSE events: ``message_start`` carries the input usage, content blocks
        arrive as ``content_block_start`` and ``content_block_delta`` (text or thinking),
        ``message_delta`` the stop reason and the output usage; ``message_stop`` ends it."""
        kinds: dict[int, str] = {}
        thinking: dict[int, list[str]] = {}
        done = False
        async for event in self._sse_events(resp):
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "error":
                err = event.get("error") or {}
                status = 529 if err.get("type") == "overloaded_error" else 500
                raise self._error(status, f"stream error: {err.get('message', '')}", None)
            if kind == "message_start":
                got.usage.update((event.get("message") or {}).get("usage") or {})
            elif kind == "content_block_start":
                block = event.get("content_block") or {}
                i = int(event.get("index", 0))
                kinds[i] = str(block.get("type"))
                if kinds[i] == "text" and block.get("text"):
                    got.text.append(str(block["text"]))
                elif kinds[i] == "thinking":
                    thinking[i] = [str(block.get("thinking") or "")]
            elif kind == "content_block_delta":
                delta = event.get("delta") or {}
                i = int(event.get("index", 0))
                if delta.get("type") == "text_delta":
                    got.text.append(str(delta.get("text", "")))
                elif delta.get("type") == "thinking_delta":
                    thinking.setdefault(i, []).append(str(delta.get("thinking", "")))
            elif kind == "message_delta":
                stop = (event.get("delta") or {}).get("stop_reason")
                if stop is not None:
                    got.stop = str(stop)
                # Cumulative counts: the last message_delta holds the totals.
                got.usage.update(event.get("usage") or {})
            elif kind == "message_stop":
                done = True
                break
        if not done:
            raise self._cut_off()
        got.thinking = ["".join(parts) for _, parts in sorted(thinking.items())]

    def _finish(self, got: _Collected) -> ChatResponse:
        text = "".join(got.text)
        if not text.strip():
            raise FatalError(f"{self._where()}: empty completion (stop_reason={got.stop})")
        usage = got.usage
        read = int(usage.get("cache_read_input_tokens") or 0)
        write = int(usage.get("cache_creation_input_tokens") or 0)
        return ChatResponse(
            content=text,
            reasoning="\n".join(got.thinking),
            usage=Usage(
                input_tokens=int(usage.get("input_tokens") or 0) + read + write,
                output_tokens=int(usage.get("output_tokens") or 0),
                cached_input_tokens=read,
                cache_write_tokens=write,
            ),
            finish_reason=got.stop,
        )
