"""Anthropic's native Messages API over aiohttp (``api_type: anthropic``).

Same transport as the OpenAI-compatible provider (one aiohttp session per endpoint, no SDK), so
it needs no extra package. The request differs: system prompts go in ``system``, ``max_tokens``
is required, and a thinking budget (``reasoning: {budget_tokens: N}``) is sent as
``thinking: {type: enabled, budget_tokens: N}``, with no temperature (Anthropic rejects one
other than 1 with thinking) and ``max_tokens`` raised by the budget, so that thinking does not
eat the answer's tokens. The reply's ``thinking`` blocks become `ChatResponse.reasoning`;
only ``text`` blocks are the content. 429 is a rate limit, 529 (overloaded), 5xx and 408 are
transient, any other 4xx is fatal with Anthropic's message.
"""

from __future__ import annotations

from typing import Any

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.base import ChatRequest, ChatResponse, FatalError, Usage
from koarena.providers.http import HttpProvider

ANTHROPIC_VERSION = "2023-06-01"
# Anthropic requires max_tokens; arena-hard settings always give one, this covers requests
# that do not.
DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider(HttpProvider):
    """One endpoint of one Claude model. Create inside a running event loop; `aclose` it."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        super().__init__(model, endpoint, f"{endpoint.api_base}/messages",
                         {"anthropic-version": ANTHROPIC_VERSION})

    def _key_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The Messages API body for ``request``."""
        m = self.model
        system = "\n\n".join(msg.content for msg in request.messages if msg.role == "system")
        reasoning = {**m.reasoning, **request.reasoning}
        budget = reasoning.get("budget_tokens", reasoning.get("max_tokens"))
        max_tokens = request.max_tokens or DEFAULT_MAX_TOKENS
        body: dict[str, Any] = {
            "model": m.model_name,
            "messages": [{"role": msg.role, "content": msg.content}
                         for msg in request.messages if msg.role != "system"],
        }
        if system:
            body["system"] = system
        if budget:
            body["thinking"] = {"type": "enabled", "budget_tokens": int(budget)}
            body["max_tokens"] = max_tokens + int(budget)
        else:
            body["max_tokens"] = max_tokens
            if request.temperature is not None:
                body["temperature"] = request.temperature
        body.update(m.extra_body)
        body.update(request.extra_body)
        return body

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send ``request``; the answer, or a `ProviderError` saying whether to retry."""
        return self._parse(await self._post_json(self.build_body(request)))

    def _parse(self, data: Any) -> ChatResponse:
        blocks = data.get("content") if isinstance(data, dict) else None
        if not isinstance(blocks, list):
            raise FatalError(f"{self._where()}: response has no content blocks")
        text = "".join(str(b.get("text", "")) for b in blocks
                       if isinstance(b, dict) and b.get("type") == "text")
        thinking = "\n".join(str(b.get("thinking", "")) for b in blocks
                             if isinstance(b, dict) and b.get("type") == "thinking")
        stop = data.get("stop_reason")
        if not text.strip():
            raise FatalError(f"{self._where()}: empty completion (stop_reason={stop})")
        usage = data.get("usage") or {}
        return ChatResponse(
            content=text,
            reasoning=thinking,
            usage=Usage(
                # Cached prompt tokens are input tokens too (billed at other rates).
                input_tokens=sum(int(usage.get(k) or 0) for k in (
                    "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")),
                output_tokens=int(usage.get("output_tokens") or 0),
            ),
            finish_reason=str(stop) if stop is not None else None,
        )
