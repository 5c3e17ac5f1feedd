"""OpenAI-compatible chat completions over aiohttp: OpenAI, OpenRouter, DeepSeek, Gemini's
OpenAI endpoint, vLLM, SGLang, llama.cpp, Ollama.

aiohttp rather than the OpenAI SDK because client CPU per request decides throughput at high
``parallel`` on a small machine: measured 0.25 ms per request against 1.8–2.5 ms for the SDK
(see docs/benchmarks.md). One `OpenAICompatProvider` per endpoint, holding one session.

Request shape follows the model: o-series models (``o1``, ``o3-mini``, ``o4-mini``…) get
``max_completion_tokens`` and ``reasoning_effort`` and no temperature; other models get
``temperature`` and ``max_tokens``, and a configured ``reasoning`` mapping is sent as
``reasoning`` (OpenRouter's format). Reasoning comes back in ``reasoning_content`` (DeepSeek,
vLLM), ``reasoning`` (OpenRouter) or a leading ``<think>`` block (R1/QwQ served raw); all three
end up in `ChatResponse.reasoning`, never in the content.
"""

from __future__ import annotations

import email.utils
import time
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

_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"


def split_think(content: str) -> tuple[str, str]:
    """Split a leading ``<think>…</think>`` block off ``content``: ``(answer, reasoning)``.

    R1-style chat templates put the opening tag in the prompt, so a close tag without an
    opening one also ends the reasoning.

    >>> split_think("<think>hmm</think>\\n\\nAnswer")
    ('Answer', 'hmm')
    >>> split_think("hmm</think>Answer")
    ('Answer', 'hmm')
    >>> split_think("Plain answer")
    ('Plain answer', '')
    """
    stripped = content.lstrip()
    close = stripped.find(_THINK_CLOSE)
    if close < 0:
        return content, ""
    head = stripped[:close]
    if head.startswith(_THINK_OPEN):
        head = head[len(_THINK_OPEN):]
    elif _THINK_OPEN in head:
        return content, ""
    return stripped[close + len(_THINK_CLOSE):].lstrip(), head.strip()


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class OpenAICompatProvider:
    """One endpoint of one model. Create inside a running event loop; `aclose` when done."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        self.model = model
        self.endpoint = endpoint
        self.url = f"{endpoint.api_base}/chat/completions"
        self._secret = endpoint.api_key.reveal() if endpoint.api_key is not None else ""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        self._session = aiohttp.ClientSession(
            headers=headers,
            # Plain-http endpoints (local servers) skip building a TLS context: loading the
            # system CA store costs ~40 ms of CPU at start, paid while requests wait.
            connector=aiohttp.TCPConnector(
                limit=model.parallel, ttl_dns_cache=300,
                ssl=not endpoint.api_base.startswith("http://")),
            timeout=aiohttp.ClientTimeout(total=model.timeout),
            json_serialize=lambda o: orjson.dumps(o).decode(),
        )

    def __repr__(self) -> str:
        return f"OpenAICompatProvider({self.model.name!r}, {self.endpoint.api_base!r})"

    async def aclose(self) -> None:
        await self._session.close()

    def build_body(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body for ``request`` in the shape this model expects."""
        m = self.model
        body: dict[str, Any] = {
            "model": m.model_name,
            "messages": [{"role": msg.role, "content": msg.content} for msg in request.messages],
        }
        reasoning = {**m.reasoning, **request.reasoning}
        if m.o_series:
            if request.max_tokens is not None:
                body["max_completion_tokens"] = request.max_tokens
            if "effort" in reasoning:
                body["reasoning_effort"] = reasoning["effort"]
        else:
            if request.temperature is not None:
                body["temperature"] = request.temperature
            if request.max_tokens is not None:
                body["max_tokens"] = request.max_tokens
            if reasoning:
                body["reasoning"] = reasoning
        if m.stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        body.update(m.extra_body)
        body.update(request.extra_body)
        return body

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secret)

    def _where(self) -> str:
        return f"{self.model.name} at {self.endpoint.api_base}"

    async def chat(self, request: ChatRequest) -> ChatResponse:
        body = self.build_body(request)
        try:
            async with self._session.post(self.url, data=orjson.dumps(body)) as resp:
                if resp.status != 200:
                    await self._raise_for_status(resp)
                if body.get("stream"):
                    return await self._read_stream(resp)
                raw = await resp.read()
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

    async def _raise_for_status(self, resp: aiohttp.ClientResponse) -> None:
        raw = await resp.read()
        message = raw.decode("utf-8", "replace")
        try:
            data = orjson.loads(raw)
            err = data.get("error") if isinstance(data, dict) else None
            if isinstance(err, dict) and err.get("message"):
                message = str(err["message"])
            elif isinstance(err, str):
                message = err
        except orjson.JSONDecodeError:
            pass
        text = f"{self._where()}: HTTP {resp.status}: {self._scrub(message.strip())}"
        if resp.status == 429:
            raise RateLimitError(text, parse_retry_after(resp.headers))
        if resp.status >= 500 or resp.status == 408:
            raise TransientError(text, parse_retry_after(resp.headers))
        raise FatalError(text)

    def _parse(self, data: Any) -> ChatResponse:
        try:
            choice = data["choices"][0]
            msg = choice["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise FatalError(f"{self._where()}: response has no choices[0].message") from exc
        content = msg.get("content") or ""
        reasoning = msg.get("reasoning_content") or msg.get("reasoning") or ""
        return self._finish(str(content), str(reasoning), data.get("usage"),
                            choice.get("finish_reason"))

    def _finish(self, content: str, reasoning: str, usage: Any,
                finish_reason: str | None) -> ChatResponse:
        if self.model.split_think:
            content, think = split_think(content)
            if think:
                reasoning = f"{reasoning}\n{think}".strip() if reasoning else think
        if not content.strip():
            raise FatalError(f"{self._where()}: empty completion "
                             f"(finish_reason={finish_reason})")
        return ChatResponse(content=content, reasoning=reasoning, usage=_usage(usage),
                            finish_reason=finish_reason)

    async def _read_stream(self, resp: aiohttp.ClientResponse) -> ChatResponse:
        content: list[str] = []
        reasoning: list[str] = []
        usage: Any = None
        finish: str | None = None
        done = False
        async for line in resp.content:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                done = True
                break
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise TransientError(f"{self._where()}: malformed stream event") from exc
            if event.get("error"):
                raise TransientError(f"{self._where()}: stream error: "
                                     f"{self._scrub(str(event['error']))}")
            if event.get("usage"):
                usage = event["usage"]
            for ch in event.get("choices") or []:
                delta = ch.get("delta") or {}
                if delta.get("content"):
                    content.append(delta["content"])
                r = delta.get("reasoning_content") or delta.get("reasoning")
                if r:
                    reasoning.append(r)
                if ch.get("finish_reason"):
                    finish = ch["finish_reason"]
        if not done and finish is None:
            raise TransientError(f"{self._where()}: stream ended before the answer was complete")
        return self._finish("".join(content), "".join(reasoning), usage, finish)


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        reasoning_tokens=int(details.get("reasoning_tokens") or 0),
    )


def make_providers(model: ModelEndpoint) -> list[OpenAICompatProvider]:
    """One provider per endpoint of ``model`` (call inside the running loop)."""
    return [OpenAICompatProvider(model, ep) for ep in model.endpoints]
