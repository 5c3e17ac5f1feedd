"""OpenAI's chat completions on the fake server: ``POST …/chat/completions``, streamed (with
``stream_options.include_usage``) or not; ``reasoning_content`` for ``-reasoner`` models."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from koarena.testing.faults import FILTER_FAULTS
from koarena.testing.http import Connection, retry_after_header
from koarena.testing.model import Reply, usage


def error_body(status: int, message: str) -> bytes:
    """An error in OpenAI's shape (also the server's reply to a bad body or an unknown route)."""
    kind = {429: "rate_limit_error", 401: "authentication_error"}.get(status, "server_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "code": status}})


class OpenAIRoutes:
    """The OpenAI-compatible route; the key comes in ``Authorization: Bearer``."""

    routes: tuple[tuple[str, str], ...] = (
        ("POST /v1/chat/completions", "OpenAI chat completions (streamed or not)"),)

    def matches(self, path: str) -> bool:
        return path.endswith("/chat/completions")

    def auth(self, headers: dict[str, str]) -> str:
        return headers.get("authorization", "")

    def rejection(self, target: str) -> bytes | None:
        return None

    def chat_body(self, path: str, req: dict[str, Any]) -> dict[str, Any]:
        return req

    def resets_on_cut(self, path: str) -> bool:
        # A non-streamed reply has nothing to cut: it comes whole.
        return False

    async def respond(self, conn: Connection, path: str, headers: dict[str, str],
                      req: dict[str, Any], reply: Reply) -> None:
        if reply.status != 200:
            conn.send(reply.status, error_body(reply.status, reply.content),
                      extra=retry_after_header(reply.retry_after))
            return
        model = str(req.get("model", ""))
        counts = _counts(req, reply)
        created = int(time.time())
        finish = _finish(reply)
        if not req.get("stream"):
            conn.send(200, orjson.dumps(completion(req, reply)))
            return
        conn.start_stream()
        pieces: list[dict[str, Any]] = []
        if reply.reasoning_field:
            pieces.append({"role": "assistant", "content": "",
                           "reasoning_content": reply.reasoning})
        text = reply.content
        step = max(1, len(text) // 4)
        pieces.extend({"content": text[i:i + step]} for i in range(0, len(text), step))
        if reply.fault == "cut":
            pieces = pieces[: max(1, len(pieces) // 2)]
        for delta in pieces:
            _chunk(conn, model, created, {"index": 0, "delta": delta, "finish_reason": None})
        if reply.fault == "cut":
            await asyncio.sleep(0)
            conn.reset()
            return
        _chunk(conn, model, created, {"index": 0, "delta": {}, "finish_reason": finish})
        if (req.get("stream_options") or {}).get("include_usage"):
            conn.event(orjson.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                                     "created": created, "model": model, "choices": [],
                                     "usage": counts}))
        conn.event(b"[DONE]")
        conn.end_stream()


def _counts(req: dict[str, Any], reply: Reply) -> dict[str, Any]:
    prompt = "".join(str(m.get("content", "")) for m in req.get("messages") or [])
    counts: dict[str, Any] = usage(prompt, reply.content + reply.reasoning)
    if reply.cache_read:
        counts["prompt_tokens_details"] = {"cached_tokens": reply.cache_read}
    return counts


def _finish(reply: Reply) -> str:
    return ("content_filter" if reply.fault in FILTER_FAULTS
            else "length" if reply.fault == "truncated" else "stop")


def completion(req: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A successful reply as a (non-streamed) chat completion object."""
    msg: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.reasoning_field:
        msg["reasoning_content"] = reply.reasoning
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
            "model": str(req.get("model", "")),
            "choices": [{"index": 0, "message": msg, "finish_reason": _finish(reply)}],
            "usage": _counts(req, reply)}


def _chunk(conn: Connection, model: str, created: int, choice: dict[str, Any]) -> None:
    conn.event(orjson.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                             "created": created, "model": model, "choices": [choice]}))
