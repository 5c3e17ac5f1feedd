"""Google's Gemini API (the Generative Language REST API) over aiohttp (``api_type: gemini`` or
``google``).

Same transport as the other providers (one aiohttp session per endpoint, no SDK), so it needs
no extra package. ``POST {api_base}/models/{model}:generateContent``, or
``:streamGenerateContent?alt=sse`` with ``stream: true``. The key goes in the
``x-goog-api-key`` header, never in the URL (``?key=`` would put it in every proxy log and in the
URL of every connection error).

System prompts go in ``systemInstruction``, turns in ``contents`` (roles ``user``/``model``),
temperature and ``maxOutputTokens`` in ``generationConfig``. Reasoning settings become
``generationConfig.thinkingConfig``: a budget (``thinkingBudget``; a positive budget raises
``maxOutputTokens`` by as much, since Gemini counts thinking against it), or a level
(``thinkingLevel``, Gemini 3), with ``includeThoughts`` on unless thinking is off or the
endpoint says otherwise. Parts marked ``thought: true`` become `ChatResponse.reasoning`; only
the other text parts are the content. A blocked prompt (``promptFeedback.blockReason``) or a
candidate without text (``finishReason`` SAFETY, RECITATION, MAX_TOKENS…) is a `FatalError`
naming the reason, never an empty answer. 429 is a rate limit (wait from ``Retry-After`` or
Google's ``RetryInfo.retryDelay``), 5xx and 408 are transient, any other 4xx (a bad key is 400
or 403) is fatal with Google's message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.apis import GEMINI_BUDGET_KEYS
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    ProviderError,
    Usage,
)
from koarena.providers.http import HttpProvider, parse_retry_after

_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def thinking_config(reasoning: dict[str, Any]) -> dict[str, Any]:
    """``generationConfig.thinkingConfig`` for an endpoint's reasoning settings.

    >>> thinking_config({"thinking_budget": 2048})
    {'thinkingBudget': 2048, 'includeThoughts': True}
    >>> thinking_config({"effort": "high", "include_thoughts": False})
    {'thinkingLevel': 'HIGH', 'includeThoughts': False}
    >>> thinking_config({"thinking_budget": 0})
    {'thinkingBudget': 0}
    >>> thinking_config({})
    {}
    """
    cfg: dict[str, Any] = {}
    budget = next((reasoning[k] for k in GEMINI_BUDGET_KEYS if k in reasoning), None)
    if budget is not None:
        cfg["thinkingBudget"] = int(budget)
    level = reasoning.get("thinking_level", reasoning.get("effort"))
    if level is not None:
        # The API's enum names are upper case (LOW, HIGH), as google-genai sends them.
        cfg["thinkingLevel"] = str(level).upper()
    if "include_thoughts" in reasoning:
        cfg["includeThoughts"] = bool(reasoning["include_thoughts"])
    elif cfg and cfg.get("thinkingBudget") != 0:
        # Thought summaries are stored apart from the answer, as other providers' reasoning is.
        cfg["includeThoughts"] = True
    return cfg


def retry_delay(headers: Any, error: Any) -> float | None:
    """Seconds to wait: ``Retry-After`` if sent, else ``RetryInfo.retryDelay`` in the error's
    ``details`` (a protobuf Duration in JSON, ``"37s"`` or ``"1.5s"``).

    >>> retry_delay({}, {"details": [{"@type": _RETRY_INFO, "retryDelay": "1.5s"}]})
    1.5
    >>> retry_delay({"retry-after": "3"}, {"details": []})
    3.0
    >>> retry_delay({}, {}) is None
    True
    """
    header = parse_retry_after(headers)
    if header is not None:
        return header
    details = error.get("details") if isinstance(error, dict) else None
    for d in details if isinstance(details, list) else []:
        if isinstance(d, dict) and d.get("@type") == _RETRY_INFO:
            try:
                return max(0.0, float(str(d.get("retryDelay", "")).removesuffix("s")))
            except ValueError:
                return None
    return None


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    """Merge ``extra`` into ``into``; nested mappings (``generationConfig``) key by key, so that
    ``extra_body: {generationConfig: {topP: 0.9}}`` keeps the temperature and token limit."""
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = v


@dataclass
class _Collected:
    """A response, or the chunks of a streamed one, gathered."""

    text: list[str] = field(default_factory=list)
    thoughts: list[str] = field(default_factory=list)
    finish: str | None = None
    blocked: str | None = None
    usage: Any = None


class GeminiProvider(HttpProvider):
    """One endpoint of one Gemini model. Create inside a running event loop; `aclose` it."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        name = quote(model.model_name.removeprefix("models/"), safe="")
        method = "streamGenerateContent?alt=sse" if model.stream else "generateContent"
        super().__init__(model, endpoint, f"{endpoint.api_base}/models/{name}:{method}")

    def _key_headers(self, key: str) -> dict[str, str]:
        return {"x-goog-api-key": key}

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The generateContent body for ``request``."""
        m = self.model
        system = "\n\n".join(msg.content for msg in request.messages if msg.role == "system")
        body: dict[str, Any] = {
            "contents": [{"role": "model" if msg.role == "assistant" else "user",
                          "parts": [{"text": msg.content}]}
                         for msg in request.messages if msg.role != "system"],
        }
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        gen: dict[str, Any] = {}
        if request.temperature is not None:
            gen["temperature"] = request.temperature
        max_tokens = request.max_tokens
        thinking = thinking_config({**m.reasoning, **request.reasoning})
        if thinking:
            gen["thinkingConfig"] = thinking
            budget = thinking.get("thinkingBudget", 0)
            if max_tokens is not None and budget > 0:
                max_tokens += budget
        if max_tokens is not None:
            gen["maxOutputTokens"] = max_tokens
        if gen:
            body["generationConfig"] = gen
        _merge(body, m.extra_body)
        _merge(body, request.extra_body)
        return body

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send ``request``; the answer, or a `ProviderError` saying whether to retry."""
        body = self.build_body(request)
        got = _Collected()
        if self.model.stream:
            await self._post(body, lambda resp: self._read_stream(resp, got))
        else:
            self._collect(await self._post_json(body), got)
        return self._finish(got)

    def _http_error(self, status: int, raw: bytes, headers: Any) -> ProviderError:
        message = raw.decode("utf-8", "replace")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            data = None
        if isinstance(data, list) and data:
            # Without alt=sse Google sends a JSON array, errors included.
            data = data[0]
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and err.get("message"):
            message = str(err["message"])
        return self._error(status, message, retry_delay(headers, err))

    async def _read_stream(self, resp: aiohttp.ClientResponse, got: _Collected) -> None:
        async for event in self._sse_events(resp):
            err = event.get("error") if isinstance(event, dict) else None
            if isinstance(err, dict):
                try:
                    status = int(err.get("code") or 500)
                except (TypeError, ValueError):
                    status = 500
                raise self._error(status, f"stream error: {err.get('message', '')}",
                                  retry_delay({}, err))
            self._collect(event, got)
        if got.finish is None and got.blocked is None:
            raise self._cut_off()

    def parse_response(self, data: Any) -> ChatResponse:
        """A whole (not streamed) generateContent reply, as `chat` reads it."""
        got = _Collected()
        self._collect(data, got)
        return self._finish(got)

    def _collect(self, data: Any, got: _Collected) -> None:
        if not isinstance(data, dict):
            raise FatalError(f"{self._where()}: response is not a JSON object")
        feedback = data.get("promptFeedback")
        if isinstance(feedback, dict) and feedback.get("blockReason"):
            reason = str(feedback["blockReason"])
            detail = feedback.get("blockReasonMessage")
            got.blocked = f"{reason}: {detail}" if detail else reason
        if data.get("usageMetadata"):
            got.usage = data["usageMetadata"]
        candidates = data.get("candidates")
        for cand in candidates if isinstance(candidates, list) else []:
            if not isinstance(cand, dict) or cand.get("index", 0) != 0:
                continue
            parts = (cand.get("content") or {}).get("parts")
            for part in parts if isinstance(parts, list) else []:
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    (got.thoughts if part.get("thought") else got.text).append(part["text"])
            if cand.get("finishReason"):
                got.finish = str(cand["finishReason"])

    def _finish(self, got: _Collected) -> ChatResponse:
        if got.blocked is not None:
            raise FatalError(f"{self._where()}: prompt blocked "
                             f"({self._scrub(got.blocked)})")
        text = "".join(got.text)
        if not text.strip():
            raise FatalError(f"{self._where()}: no answer text (finishReason={got.finish})")
        usage = got.usage if isinstance(got.usage, dict) else {}
        thoughts = int(usage.get("thoughtsTokenCount") or 0)
        return ChatResponse(
            content=text,
            reasoning="".join(got.thoughts),
            usage=Usage(
                input_tokens=int(usage.get("promptTokenCount") or 0),
                # Thinking is billed as output, as with the other providers' output counts.
                output_tokens=int(usage.get("candidatesTokenCount") or 0) + thoughts,
                reasoning_tokens=thoughts,
                # Implicit caching: the part of promptTokenCount served from Google's cache.
                cached_input_tokens=int(usage.get("cachedContentTokenCount") or 0),
            ),
            finish_reason=got.finish,
        )
