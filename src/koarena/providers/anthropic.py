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

import aiohttp
import orjson

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    RateLimitError,
    TransientError,
    Usage,
    scrub,
)
from koarena.providers.openai_compat import parse_retry_after

ANTHROPIC_VERSION = "2023-06-01"
# Anthropic requires max_tokens; arena-hard settings always give one, this covers requests
# that do not.
DEFAULT_MAX_TOKENS = 4096


class AnthropicProvider:
    """One endpoint of one Claude model. Create inside a running event loop; `aclose` it."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        self.model = model
        self.endpoint = endpoint
        self.url = f"{endpoint.api_base}/messages"
        self._secret = endpoint.api_key.reveal() if endpoint.api_key is not None else ""
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "anthropic-version": ANTHROPIC_VERSION}
        if self._secret:
            headers["x-api-key"] = self._secret
        self._session = aiohttp.ClientSession(
            headers=headers,
            connector=aiohttp.TCPConnector(
                limit=model.parallel, ttl_dns_cache=300,
                ssl=not endpoint.api_base.startswith("http://")),
            timeout=aiohttp.ClientTimeout(total=model.timeout),
        )

    def __repr__(self) -> str:
        return f"AnthropicProvider({self.model.name!r}, {self.endpoint.api_base!r})"

    async def aclose(self) -> None:
        await self._session.close()

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

    def _where(self) -> str:
        return f"{self.model.name} at {self.endpoint.api_base}"

    async def chat(self, request: ChatRequest) -> ChatResponse:
        body = self.build_body(request)
        try:
            async with self._session.post(self.url, data=orjson.dumps(body)) as resp:
                raw = await resp.read()
                if resp.status != 200:
                    self._raise_for_status(resp.status, raw, resp.headers)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TransientError(
                f"{self._where()}: no response within {self.model.timeout:g} s") from exc
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(f"{self._where()}: response cut off ({type(exc).__name__})"
                                 ) from exc
        except aiohttp.ClientConnectionError as exc:
            raise TransientError(
                f"{self._where()}: connection failed ({type(exc).__name__})") from exc
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TransientError(f"{self._where()}: response is not JSON") from exc
        return self._parse(data)

    def _raise_for_status(self, status: int, raw: bytes, headers: Any) -> None:
        message = raw.decode("utf-8", "replace")
        try:
            err = orjson.loads(raw).get("error")
            if isinstance(err, dict) and err.get("message"):
                message = str(err["message"])
        except (orjson.JSONDecodeError, AttributeError):
            pass
        text = f"{self._where()}: HTTP {status}: {scrub(message.strip(), self._secret)}"
        if status == 429:
            raise RateLimitError(text, parse_retry_after(headers))
        if status >= 500 or status == 408:
            raise TransientError(text, parse_retry_after(headers))
        raise FatalError(text)

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
