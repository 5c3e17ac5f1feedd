"""The API key never survives in what a provider returns or raises: a hostile server on
127.0.0.1 echoes it after long noise, in finish reasons, base64- and URL-encoded."""

from __future__ import annotations

import asyncio
import base64
import http.server
import urllib.parse
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from loopback_http import serve_on_loopback

from koarena.config import parse_model_endpoint
from koarena.providers.base import ChatRequest, FatalError, Message, scrub, secret_forms
from koarena.runner.pool import ProviderPool, RetryPolicy

KEY = "sk-proj-Zq8xW3vK9mN2pL5tR7yB4cF6"  # 32 characters
B64_BEARER = base64.b64encode(f"Bearer {KEY}".encode()).decode()


def leaks(text: str) -> list[str]:
    """Pieces of the key that ``text`` still holds: any 8 characters of it, or of its base64
    encodings (from the characters that encode the key, not "Bearer ")."""
    found = []
    for form in (KEY, B64_BEARER[12:], base64.urlsafe_b64encode(KEY.encode()).decode()):
        found += [form[i:i + 8] for i in range(len(form) - 7) if form[i:i + 8] in text]
    return found


def test_replaces_before_shortening() -> None:
    message = "x" * 469 + f" invalid key {KEY}"
    assert leaks(message)
    out = scrub(message, KEY)
    assert out == "x" * 469 + " invalid key ***"
    assert leaks(out) == []


@pytest.mark.parametrize("prefix", ["", "a", "ab", "Bearer ", "Authorization: Bearer "])
def test_base64_echo_at_any_alignment(prefix: str) -> None:
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        echoed = enc(f"{prefix}{KEY} and more".encode()).decode()
        out = scrub(f"header was {echoed}", KEY)
        assert "***" in out
        assert leaks(out) == []
        # At most the two key bytes that share a base64 group with other text remain.
        assert len(out) < len(f"header was {echoed}") - 30


def test_url_encoded_echo() -> None:
    key = "sk-a/b+c=d&e?f~0123456789"
    quoted, plus = urllib.parse.quote(key, safe=""), urllib.parse.quote_plus(key)
    echoed = f"https://x.example/?key={quoted}&q={plus}"
    out = scrub(echoed, key)
    assert out == "https://x.example/?key=***&q=***"


def test_no_secret_no_change() -> None:
    assert secret_forms("") == []
    assert scrub("plain", "") == "plain"


class Hostile(http.server.BaseHTTPRequestHandler):
    """Answers every chat request with what ``mode`` (from the model name) asks for."""

    def do_POST(self) -> None:
        body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
        mode = body["model"]
        auth = self.headers.get("Authorization", "")
        payload: dict[str, Any]
        if mode == "noise-401":
            status, payload = 401, {"error": {"message": "n" * 469 + f" bad key {KEY}"}}
        elif mode == "b64-401":
            payload = {"error": {"message": "got " + base64.b64encode(auth.encode()).decode()}}
            status = 401
        elif mode == "prefix":
            status = 200
            text = f"keys look like {KEY[:8]}... and end {KEY[-6:]}"
            payload = {"choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": text}}]}
        else:
            status = 200
            payload = {"choices": [{"index": 0, "finish_reason": f"stop:{KEY}",
                                    "message": {"role": "assistant",
                                                "content": f"answer {KEY}",
                                                "reasoning_content": f"why {B64_BEARER}"}}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
        raw = orjson.dumps(payload)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with serve_on_loopback(Hostile) as url:
        yield f"{url}/v1"


def ask(base: str, mode: str) -> Any:
    entry = {"model_name": mode, "endpoints": [{"api_base": base, "api_key": KEY}],
             "parallel": 1, "timeout": 5}
    cfg = parse_model_endpoint(mode, entry, "test", env={})

    async def go() -> Any:
        pool = ProviderPool({mode: cfg}, retry=RetryPolicy(attempts=1))
        try:
            return await pool.chat(ChatRequest(mode, [Message("user", "q")], 0.0, 16))
        except FatalError as exc:
            return exc
        finally:
            await pool.aclose()

    return asyncio.run(go())


def test_error_with_key_after_long_noise(hostile: str) -> None:
    exc = ask(hostile, "noise-401")
    assert isinstance(exc, FatalError)
    assert "HTTP 401" in str(exc)
    assert leaks(str(exc)) == []
    assert exc.__cause__ is None and exc.__context__ is None


def test_base64_bearer_echo_in_error(hostile: str) -> None:
    exc = ask(hostile, "b64-401")
    assert isinstance(exc, FatalError)
    assert str(exc).endswith("HTTP 401: got QmVhcmVyIHNr***")  # "Bearer sk" is no secret
    assert leaks(str(exc)) == []


def test_content_reasoning_and_finish_reason_are_redacted(hostile: str) -> None:
    resp = ask(hostile, "ok")
    assert resp.content == "answer ***"
    assert resp.finish_reason == "stop:***"
    assert leaks(resp.reasoning) == []


def test_an_answer_is_changed_only_where_it_holds_the_whole_key(hostile: str) -> None:
    resp = ask(hostile, "prefix")
    assert resp.content == f"keys look like {KEY[:8]}... and end {KEY[-6:]}"
