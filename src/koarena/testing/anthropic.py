"""Anthropic's Messages API on the fake server: ``POST …/messages`` (non-streaming).

Same answers, verdicts and faults as the other routes; ``529`` is Anthropic's "overloaded", and
``cut`` resets the connection. A request with ``thinking`` enabled gets a ``thinking`` content
block first. The key is read from ``x-api-key``.
"""

from __future__ import annotations

from typing import Any

import orjson

from koarena.testing.faults import FILTER_FAULTS
from koarena.testing.http import Connection, retry_after_header
from koarena.testing.model import Reply, usage
from koarena.testing.routes import ApiRoutes

_ERROR_TYPES = {429: "rate_limit_error", 401: "authentication_error",
                400: "invalid_request_error", 529: "overloaded_error"}


class AnthropicRoutes(ApiRoutes):
    """The Messages route."""

    routes: tuple[tuple[str, str], ...] = (
        ("POST /v1/messages", "Anthropic Messages (not streamed; key in x-api-key)"),)

    def matches(self, path: str) -> bool:
        return path.endswith("/messages")

    def auth(self, headers: dict[str, str]) -> str:
        return f"Bearer {headers.get('x-api-key', '')}"

    def resets_on_cut(self, path: str) -> bool:
        return True

    async def respond(self, conn: Connection, path: str, headers: dict[str, str],
                      req: dict[str, Any], reply: Reply) -> None:
        if reply.status != 200:
            kind = _ERROR_TYPES.get(reply.status, "api_error")
            conn.send(reply.status, orjson.dumps(
                {"type": "error", "error": {"type": kind, "message": reply.content}}),
                extra=retry_after_header(reply.retry_after))
            return
        messages = req.get("messages") or []
        prompt = str(req.get("system", "")) + "".join(str(m.get("content", "")) for m in messages)
        content = reply.content
        blocks: list[dict[str, Any]] = []
        if (req.get("thinking") or {}).get("type") == "enabled":
            thinking = f"{req.get('model', '')} 생각 {len(messages)}"
            blocks.append({"type": "thinking", "thinking": thinking, "signature": "fake"})
            content_for_usage = thinking + content
        else:
            content_for_usage = content
        refused = reply.fault in FILTER_FAULTS
        if not refused:
            blocks.append({"type": "text", "text": content})
        counts = usage(prompt, content_for_usage)
        conn.send(200, orjson.dumps({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": req.get("model", ""),
            "content": blocks, "stop_reason": "refusal" if refused else "end_turn",
            "usage": {"input_tokens": counts["prompt_tokens"],
                      "output_tokens": counts["completion_tokens"]},
        }))
