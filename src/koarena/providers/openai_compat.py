"""OpenAI-compatible chat completions over aiohttp: OpenAI, OpenRouter, DeepSeek, Gemini's
OpenAI endpoint, vLLM, SGLang, llama.cpp, Ollama.

aiohttp rather than the OpenAI SDK, for client CPU per request (see `koarena.providers.http`).
One `OpenAICompatProvider` per endpoint, holding one session.

Request shape follows the model: OpenAI's reasoning models (o-series, GPT-5, their fine-tunes;
see `koarena.config.ModelEndpoint.o_series`) get ``max_completion_tokens`` and
``reasoning_effort`` and no temperature; other models get
``temperature`` and ``max_tokens``, and a configured ``reasoning`` mapping is sent as
``reasoning`` (OpenRouter's format). Reasoning comes back in ``reasoning_content`` (DeepSeek,
vLLM), ``reasoning`` (OpenRouter) or a leading ``<think>`` block (R1/QwQ served raw); all three
end up in `ChatResponse.reasoning`, never in the content.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    ProviderError,
    TransientError,
    Usage,
)
from koarena.providers.http import SSE_END, HttpProvider, error_member, parse_retry_after

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


class OpenAICompatProvider(HttpProvider):
    """One endpoint of one model. Create inside a running event loop; `aclose` when done."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        super().__init__(model, endpoint, f"{endpoint.api_base}/chat/completions")

    def _key_headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

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

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send ``request``; the answer, or a `ProviderError` saying whether to retry."""
        body = self.build_body(request)
        if body.get("stream"):
            return await self._post(body, self._read_stream)
        return self._parse(await self._post_json(body))

    def _http_error(self, status: int, raw: bytes, headers: Any) -> ProviderError:
        err = error_member(raw)
        if isinstance(err, str):
            # Some OpenAI-compatible servers send the message as the bare ``error`` value.
            return self._error(status, err, parse_retry_after(headers))
        return super()._http_error(status, raw, headers)

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
        async for event in self._sse_events(resp, end=b"[DONE]"):
            if event is SSE_END:
                done = True
                break
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
            raise self._cut_off()
        return self._finish("".join(content), "".join(reasoning), usage, finish)


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    details = raw.get("completion_tokens_details") or {}
    prompt_details = raw.get("prompt_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        reasoning_tokens=int(details.get("reasoning_tokens") or 0),
        # OpenAI caches long prompt prefixes by itself and reports the hits here.
        cached_input_tokens=int(prompt_details.get("cached_tokens") or 0),
    )
