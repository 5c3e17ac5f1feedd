"""Anthropic's Messages API on the fake server: ``POST …/messages``, streamed as server-sent
events with ``stream: true`` or not.

Same answers, verdicts and faults as the other routes; ``529`` is Anthropic's "overloaded";
``cut`` resets the connection of an unstreamed reply and drops a stream halfway. A request with
``thinking`` enabled gets a ``thinking`` content block first. Blocks marked with
``cache_control`` are served from the fake prompt cache the second time
(``cache_read_input_tokens``; the first time ``cache_creation_input_tokens``). ``truncated``
stops with ``stop_reason: max_tokens``. The key is read from ``x-api-key``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from koarena.testing.faults import FILTER_FAULTS
from koarena.testing.http import Connection, retry_after_header
from koarena.testing.model import Reply, block_text, usage

_ERROR_TYPES = {429: "rate_limit_error", 401: "authentication_error",
                400: "invalid_request_error", 529: "overloaded_error"}


class AnthropicRoutes:
    """The Messages route."""

    routes: tuple[tuple[str, str], ...] = (
        ("POST /v1/messages", "Anthropic Messages (streamed or not; key in x-api-key)"),)

    def matches(self, path: str) -> bool:
        return path.endswith("/messages")

    def auth(self, headers: dict[str, str]) -> str:
        return f"Bearer {headers.get('x-api-key', '')}"

    def rejection(self, target: str) -> bytes | None:
        return None

    def chat_body(self, path: str, req: dict[str, Any]) -> dict[str, Any]:
        return req

    def resets_on_cut(self, path: str) -> bool:
        # Decided in `respond`, which knows whether the reply is streamed.
        return False

    async def respond(self, conn: Connection, path: str, headers: dict[str, str],
                      req: dict[str, Any], reply: Reply) -> None:
        if reply.status != 200:
            kind = _ERROR_TYPES.get(reply.status, "api_error")
            conn.send(reply.status, orjson.dumps(
                {"type": "error", "error": {"type": kind, "message": reply.content}}),
                extra=retry_after_header(reply.retry_after))
            return
        thinking, refused, stop, counts, cache, plain = _parts(req, reply)
        if not req.get("stream"):
            if reply.fault == "cut":
                conn.reset()
                return
            conn.send(200, orjson.dumps(message(req, reply)))
            return
        events: list[dict[str, Any]] = [{"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant",
            "model": req.get("model", ""), "content": [], "stop_reason": None,
            "usage": {"input_tokens": plain, **cache, "output_tokens": 1}}}, {"type": "ping"}]
        blocks_out: list[tuple[str, str]] = [("thinking", thinking)] if thinking else []
        if not refused:
            blocks_out.append(("text", reply.content))
        for index, (kind, text) in enumerate(blocks_out):
            events.append({"type": "content_block_start", "index": index,
                           "content_block": {"type": kind, kind: ""}})
            step = max(1, len(text) // 3)
            events.extend({"type": "content_block_delta", "index": index,
                           "delta": {"type": f"{kind}_delta", kind: text[i:i + step]}}
                          for i in range(0, len(text), step))
            events.append({"type": "content_block_stop", "index": index})
        events += [{"type": "message_delta", "delta": {"stop_reason": stop},
                    "usage": {"output_tokens": counts["completion_tokens"]}},
                   {"type": "message_stop"}]
        if reply.fault == "cut":
            events = events[: len(events) // 2]
        conn.start_stream()
        for event in events:
            conn.event(orjson.dumps(event), name=event["type"])
        if reply.fault == "cut":
            await asyncio.sleep(0)
            conn.reset()
            return
        conn.end_stream()


def _parts(req: dict[str, Any], reply: Reply
           ) -> tuple[str, bool, str, dict[str, int], dict[str, int], int]:
    messages = req.get("messages") or []
    prompt = block_text(req.get("system")) + "".join(block_text(m.get("content"))
                                                     for m in messages)
    thinking = ""
    if (req.get("thinking") or {}).get("type") == "enabled":
        thinking = f"{req.get('model', '')} 생각 {len(messages)}"
    refused = reply.fault in FILTER_FAULTS
    stop = ("refusal" if refused else "max_tokens" if reply.fault == "truncated"
            else "end_turn")
    counts = usage(prompt, thinking + reply.content)
    # input_tokens counts only what was neither read from nor written to the cache.
    cache = {"cache_read_input_tokens": reply.cache_read,
             "cache_creation_input_tokens": reply.cache_written}
    plain = max(0, counts["prompt_tokens"] - reply.cache_read - reply.cache_written)
    return thinking, refused, stop, counts, cache, plain


def message(req: dict[str, Any], reply: Reply) -> dict[str, Any]:
    """A successful reply as a (non-streamed) Messages API message."""
    thinking, refused, stop, counts, cache, plain = _parts(req, reply)
    blocks: list[dict[str, Any]] = []
    if thinking:
        blocks.append({"type": "thinking", "thinking": thinking, "signature": "fake"})
    if not refused:
        blocks.append({"type": "text", "text": reply.content})
    return {"id": "msg_fake", "type": "message", "role": "assistant",
            "model": req.get("model", ""), "content": blocks, "stop_reason": stop,
            "usage": {"input_tokens": plain, **cache,
                      "output_tokens": counts["completion_tokens"]}}
