"""Google's Gemini API on the fake server: ``POST …/models/{model}:generateContent`` and
``:streamGenerateContent?alt=sse``.

Same answers, verdicts and faults as the other routes: ``systemInstruction`` and ``contents``
are read as the conversation; errors carry Google's ``status`` and, for a 429 with
``retry_after``, a ``RetryInfo`` detail (as Google sends it, without a ``Retry-After`` header).
``thinkingConfig.includeThoughts`` gets a ``thought: true`` part first. The key is read from
``x-goog-api-key``: a request without one gets Google's 403, a wrong one a 400 that echoes it,
and a ``key=`` in the URL a 400 (the client must never put it there).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote

import orjson

from koarena.testing.http import Connection
from koarena.testing.model import Reply, usage

_GENERATE = ":generateContent"
_STREAM = ":streamGenerateContent"
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


def error_body(status: int, message: str, retry_after: float | None = None) -> bytes:
    """An error in Google's shape."""
    err: dict[str, Any] = {"code": status, "message": message,
                           "status": _STATUS_NAMES.get(status, "INTERNAL")}
    if retry_after is not None:
        err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                           "retryDelay": f"{retry_after:g}s"}]
    return orjson.dumps({"error": err})


class GeminiRoutes:
    """The generateContent routes (Google's ``api_base`` is ``…/v1beta``)."""

    routes: tuple[tuple[str, str], ...] = (
        ("POST /v1beta/models/{model}:generateContent", "Gemini (key in x-goog-api-key)"),
        ("POST /v1beta/models/{model}:streamGenerateContent?alt=sse", "Gemini, streamed"),
    )

    def matches(self, path: str) -> bool:
        return path.endswith((_GENERATE, _STREAM))

    def auth(self, headers: dict[str, str]) -> str:
        return f"Bearer {headers.get('x-goog-api-key', '')}"

    def rejection(self, target: str) -> bytes | None:
        if "key=" in target.partition("?")[2]:
            return error_body(400, "API keys belong in x-goog-api-key")
        return None

    def chat_body(self, path: str, req: dict[str, Any]) -> dict[str, Any]:
        """A generateContent body as the chat body `FakeState.reply` reads (same conversation,
        so the same answers as over the other APIs)."""
        model = unquote(path.rpartition("/models/")[2].rpartition(":")[0])

        def text(content: Any) -> str:
            parts = content.get("parts") if isinstance(content, dict) else None
            return "".join(str(p.get("text", "")) for p in parts or [] if isinstance(p, dict))

        messages = [{"role": "system", "content": text(req["systemInstruction"])}
                    ] if req.get("systemInstruction") else []
        messages += [{"role": "assistant" if c.get("role") == "model" else "user",
                      "content": text(c)} for c in req.get("contents") or [] if isinstance(c, dict)]
        thinking = (req.get("generationConfig") or {}).get("thinkingConfig") or {}
        return {"model": model, "messages": messages,
                "include_thoughts": bool(thinking.get("includeThoughts"))}

    def resets_on_cut(self, path: str) -> bool:
        return not path.endswith(_STREAM)

    async def respond(self, conn: Connection, path: str, headers: dict[str, str],
                      req: dict[str, Any], reply: Reply) -> None:
        if reply.status != 200:
            status, message = reply.status, reply.content
            if reply.fault is None and status == 401:
                # The wrong-key reply: Google's answers to a missing and to a bad key.
                given = headers.get("x-goog-api-key", "")
                status, message = ((400, f"API key not valid: {given}") if given else
                                   (403, "Method doesn't allow unregistered callers"))
            conn.send(status, error_body(status, message, reply.retry_after))
            return
        stream = path.endswith(_STREAM)
        events = _events(req, reply, stream)
        if not stream:
            conn.send(200, orjson.dumps(_merged(events)))
            return
        conn.start_stream()
        if reply.fault == "cut":
            # Never the last event, which alone carries finishReason.
            events = events[: len(events) // 2]
        for event in events:
            conn.event(orjson.dumps(event))
        if reply.fault == "cut":
            await asyncio.sleep(0)
            conn.reset()
            return
        conn.end_stream()


def _events(req: dict[str, Any], reply: Reply, stream: bool) -> list[dict[str, Any]]:
    """The reply as the events of a stream (one event when not streamed)."""
    model = str(req["model"])
    messages = req["messages"]
    prompt = "".join(str(m["content"]) for m in messages)
    thought = (f"{model} 생각 {len(messages)}" if req["include_thoughts"] else "")
    counts = usage(prompt, reply.content)
    meta = {"promptTokenCount": counts["prompt_tokens"],
            "candidatesTokenCount": counts["completion_tokens"],
            "totalTokenCount": counts["total_tokens"]}
    if reply.cache_read:
        meta["cachedContentTokenCount"] = reply.cache_read
    if thought:
        meta["thoughtsTokenCount"] = usage("", thought)["completion_tokens"]
        meta["totalTokenCount"] += meta["thoughtsTokenCount"]
    if reply.fault == "blocked":
        events: list[dict[str, Any]] = [{"promptFeedback": {"blockReason": "SAFETY"},
                                         "usageMetadata": meta}]
    elif reply.fault == "filtered":
        events = [{"candidates": [{"index": 0, "finishReason": "SAFETY"}],
                   "usageMetadata": meta}]
    else:
        parts = [{"text": thought, "thought": True}] if thought else []
        text = reply.content
        step = max(1, len(text) // 4) if stream else max(1, len(text))
        parts.extend({"text": text[i:i + step]} for i in range(0, len(text), step))
        events = [{"candidates": [{"index": 0,
                                   "content": {"role": "model", "parts": [part]}}]}
                  for part in parts]
        events[-1]["candidates"][0]["finishReason"] = (
            "MAX_TOKENS" if reply.fault == "truncated" else "STOP")
        events[-1]["usageMetadata"] = meta
    return events


def _merged(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The streamed events as one generateContent response."""
    merged = [p for e in events for c in e.get("candidates", [])
              for p in c.get("content", {}).get("parts", [])]
    last = dict(events[-1])
    if merged:
        last["candidates"] = [{**last["candidates"][0],
                               "content": {"role": "model", "parts": merged}}]
    return last


def generate_response(req: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A successful reply as a (non-streamed) generateContent response; ``req`` is the chat
    body of `GeminiRoutes.chat_body`."""
    return _merged(_events(req, reply, False))
