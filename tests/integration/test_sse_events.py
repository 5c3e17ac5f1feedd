"""Server-sent events as every streaming provider reads them (`HttpProvider._sse_events`),
against a scripted server on 127.0.0.1: a data line that is not JSON is a transient error in
each API, and nothing after OpenAI's ``[DONE]`` is read."""

from __future__ import annotations

import asyncio
import http.server
from collections.abc import Iterator

import orjson
import pytest
from loopback_http import serve_on_loopback

from koarena.config import parse_model_endpoint
from koarena.providers.base import ChatRequest, ChatResponse, Message, TransientError
from koarena.providers.registry import make_providers

SCRIPTS = {
    # An "event:" line is skipped; the data line after it is cut mid-object.
    "mangled": [b"event: message_start", b'data: {"type": "message_start"'],
    "done-then-noise": [
        b'data: {"choices": [{"index": 0, "delta": {"content": "\xeb\x8b\xb5"}}]}',
        b"data: [DONE]",
        b"data: not json, and never read",
    ],
}


class Scripted(http.server.BaseHTTPRequestHandler):
    """Streams the lines of the script named by the request's model (in the body, or in
    Gemini's path)."""

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        name = body.get("model") or self.path.split("/models/")[1].split(":")[0]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for line in SCRIPTS[name]:
            self.wfile.write(line + b"\n\n")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def scripted() -> Iterator[str]:
    with serve_on_loopback(Scripted) as url:
        yield url


def ask(base: str, api_type: str, script: str) -> ChatResponse:
    entry = {"api_type": api_type, "model_name": script, "stream": True,
             "endpoints": [{"api_base": base, "api_key": "k"}], "parallel": 1, "timeout": 5}
    cfg = parse_model_endpoint(script, entry, "test", env={})

    async def go() -> ChatResponse:
        provider = make_providers(cfg)[0]
        try:
            return await provider.chat(ChatRequest(script, [Message("user", "q")], 0.0, 16))
        finally:
            await provider.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("api_type", ["openai", "anthropic", "gemini"])
def test_a_mangled_event_is_transient(scripted: str, api_type: str) -> None:
    with pytest.raises(TransientError, match="malformed stream event"):
        ask(scripted, api_type, "mangled")


def test_nothing_after_done_is_read(scripted: str) -> None:
    resp = ask(scripted, "openai", "done-then-noise")
    assert (resp.content, resp.finish_reason) == ("답", None)
