"""A fake OpenAI-compatible chat completions server on 127.0.0.1, for tests and offline demos.

``POST /v1/chat/completions`` (streaming and not) answers deterministically: an answer's text is
derived from a hash of the model name and the conversation, and a judge prompt (recognised by the
``<|The Start of Assistant A's Answer|>`` marker) gets a verdict label derived from the same
hash. ``GET /stats`` returns request counts. Faults are injected by rules: the first ``times``
requests whose last user message contains ``match`` (and whose model equals ``model``, if given)
get the fault instead of an answer:

- ``429`` with ``Retry-After``; ``500``/``503``; ``400``/``401`` (fatal client errors)
- ``hang``: never answer (the client's timeout must fire)
- ``reset``: drop the connection with a TCP reset before answering
- ``cut``: start a stream, send part of the answer, drop the connection
- ``no_verdict``: a judge text without a verdict label
- ``blocked``: the prompt is refused by a content filter (Gemini's ``promptFeedback.blockReason``)
- ``filtered``: the answer is withheld by a content filter (Gemini's ``finishReason: SAFETY``)

Both filter faults come without any answer text: OpenAI's shape gives ``finish_reason:
content_filter``, Anthropic's ``stop_reason: refusal``.

Models whose name ends in ``-think`` put their reasoning in ``<think>`` tags inside the content;
names ending in ``-reasoner`` return it in ``reasoning_content`` (DeepSeek style).

``POST /v1/messages`` speaks Anthropic's Messages API (non-streaming) with the same answers,
verdicts and faults (``529``, Anthropic's "overloaded", is one more kind; ``cut`` resets the
connection). A request with ``thinking`` enabled gets a ``thinking`` content block first. The key
is read from ``x-api-key`` there.

``POST /v1beta/models/{model}:generateContent`` (and ``:streamGenerateContent?alt=sse``) speaks
Google's Gemini API with the same answers, verdicts and faults: ``systemInstruction`` and
``contents`` are read as the conversation, errors carry Google's ``status`` and, for a 429 with
``retry_after``, a ``RetryInfo`` detail (as Google sends it, without a ``Retry-After`` header).
``thinkingConfig.includeThoughts`` gets a ``thought: true`` part first. The key is read from
``x-goog-api-key``: a request without one gets Google's 403, a wrong one a 400 that echoes it,
and a ``key=`` in the URL a 400 (the client must never put it there).

The server is a plain asyncio protocol (no web framework) so that it costs little CPU: the
throughput benchmark runs it on the same two cores as the client it measures.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

import orjson
import yaml

from koarena.errors import ConfigError

log = logging.getLogger(__name__)

_GEMINI = ":generateContent"
_GEMINI_STREAM = ":streamGenerateContent"

JUDGE_MARKER = "<|The Start of Assistant A's Answer|>"
VERDICTS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
FAULT_KINDS = frozenset({"429", "500", "503", "529", "400", "401", "hang", "reset", "cut",
                         "no_verdict", "blocked", "filtered"})
_FILTER_FAULTS = frozenset({"blocked", "filtered"})
_STATUS_FAULTS = frozenset({"429", "500", "503", "529", "400", "401"})

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
            529: "Overloaded"}


@dataclass
class FaultRule:
    """Inject ``kind`` into the first ``times`` matching requests."""

    kind: str
    match: str = ""
    model: str | None = None
    times: int = 1
    retry_after: float | None = None
    used: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")

    def take(self, model: str, text: str) -> bool:
        if self.used >= self.times:
            return False
        if self.model is not None and self.model != model:
            return False
        if self.match not in text:
            return False
        self.used += 1
        return True


@dataclass
class FakeConfig:
    """Behaviour of the fake server. ``latency`` is seconds before each response."""

    latency: float = 0.0
    faults: list[FaultRule] = field(default_factory=list)
    answer_tokens: int = 60
    require_key: str | None = None
    request_log: Path | None = None

    @classmethod
    def from_file(cls, path: Path) -> FakeConfig:
        """Load a YAML script: ``latency``, ``answer_tokens``, ``faults: [{kind, match, ...}]``."""
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read fake-server script ({exc})") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping")
        try:
            faults = [FaultRule(**f) for f in raw.get("faults", [])]
        except TypeError as exc:
            raise ConfigError(f"{path}: bad fault rule ({exc})") from exc
        return cls(
            latency=float(raw.get("latency", 0.0)),
            faults=faults,
            answer_tokens=int(raw.get("answer_tokens", 60)),
        )


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.digest()


def verdict_for(model: str, user_text: str) -> str:
    """The deterministic verdict label the fake judge gives for a judge prompt."""
    return VERDICTS[_digest(model, user_text)[0] % len(VERDICTS)]


def answer_for(model: str, user_text: str, n_words: int) -> str:
    """A deterministic markdown answer: a header, a list and some bold text."""
    d = _digest(model, user_text).hex()
    words = " ".join(f"단어{d[(i * 2) % 32:(i * 2) % 32 + 2]}" for i in range(n_words))
    return f"## {model} 답변 {d[:8]}\n\n- **요점** {d[8:16]}\n- 항목 {d[16:24]}\n\n{words}\n"


@dataclass
class _Reply:
    status: int = 200
    content: str = ""
    reasoning: str = ""
    reasoning_field: bool = False
    retry_after: float | None = None
    fault: str | None = None


class FakeState:
    """Counters shared by all connections; read by tests through ``GET /stats``."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.total = 0
        self.by_prompt: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    def stats(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_prompt": dict(self.by_prompt),
            "by_model": dict(self.by_model),
            "faults": dict(self.faults),
            "max_in_flight": dict(self.max_in_flight),
        }

    def reply(self, body: dict[str, Any], auth: str) -> _Reply:
        """The reply to a chat body; ``auth`` is the ``Authorization`` value (``Bearer <key>``)."""
        model = str(body.get("model", ""))
        messages = [{"role": m.get("role"), "content": block_text(m.get("content"))}
                    for m in body.get("messages") or []]
        if body.get("system"):
            messages = [{"role": "system", "content": block_text(body["system"])}, *messages]
        user_texts = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        last_user = user_texts[-1] if user_texts else ""
        convo = "\x01".join(str(m.get("content", "")) for m in messages)
        prompt_key = hashlib.sha1(convo.encode("utf-8")).hexdigest()[:16]
        self.total += 1
        self.by_prompt[prompt_key] += 1
        self.by_model[model] += 1
        if self.config.request_log is not None:
            with open(self.config.request_log, "ab") as fh:
                fh.write(orjson.dumps({"model": model, "prompt": prompt_key,
                                       "last_user": last_user[:200]}) + b"\n")
        if self.config.require_key is not None and auth != f"Bearer {self.config.require_key}":
            # Echo the key back, as some providers do (partly masked): the client must scrub it.
            given = auth.removeprefix("Bearer ")
            return _Reply(status=401, content=f"Incorrect API key provided: {given}")
        for rule in self.config.faults:
            if rule.take(model, last_user):
                self.faults[rule.kind] += 1
                return self._fault(rule, model, convo)
        is_judge = any(JUDGE_MARKER in t for t in user_texts)
        if is_judge:
            label = verdict_for(model, convo)
            content = f"두 답변을 비교했습니다.\n\nMy final verdict is: [[{label}]]"
        else:
            content = answer_for(model, convo, self.config.answer_tokens)
        reply = _Reply(content=content)
        if model.endswith("-think"):
            reply.content = f"<think>\n{model} 생각 {prompt_key}\n</think>\n\n{content}"
        elif model.endswith("-reasoner"):
            reply.reasoning = f"{model} 생각 {prompt_key}"
            reply.reasoning_field = True
        return reply

    def _fault(self, rule: FaultRule, model: str, convo: str) -> _Reply:
        kind = rule.kind
        if kind in _STATUS_FAULTS:
            return _Reply(status=int(kind), content=f"injected {kind}",
                          retry_after=rule.retry_after, fault=kind)
        if kind == "no_verdict":
            return _Reply(content="두 답변 모두 장단점이 있습니다. 결론을 내리기 어렵습니다.")
        if kind in _FILTER_FAULTS:
            return _Reply(content="", fault=kind)
        return _Reply(content=answer_for(model, convo, self.config.answer_tokens), fault=kind)


def block_text(content: Any) -> str:
    """A message's text: a string, or the text of its content blocks (Anthropic's list form,
    which carries ``cache_control`` marks), joined."""
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


def _usage(prompt: str, completion: str) -> dict[str, int]:
    # A cheap, deterministic stand-in for real token counts (1 token per 4 bytes).
    p = max(1, len(prompt.encode("utf-8")) // 4)
    c = max(1, len(completion.encode("utf-8")) // 4)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


class _HTTPProtocol(asyncio.Protocol):
    """HTTP/1.1 with keep-alive, Content-Length request bodies only."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        for t in self.tasks:
            t.cancel()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._maybe_dispatch()

    def _maybe_dispatch(self) -> None:
        if self.busy:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).decode("latin-1")
        lines = head.split("\r\n")
        try:
            method, target, _ = lines[0].split(" ", 2)
        except ValueError:
            self._close_now()
            return
        headers: dict[str, str] = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        length = int(headers.get("content-length", "0") or 0)
        if len(self.buf) < end + 4 + length:
            return
        body = bytes(self.buf[end + 4:end + 4 + length])
        del self.buf[:end + 4 + length]
        self.busy = True
        task = asyncio.ensure_future(self._handle(method, target, headers, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _close_now(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashed proxy or server would."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def _send(self, status: int, payload: bytes, ctype: str = "application/json",
              extra: str = "") -> None:
        assert self.transport is not None
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n{extra}\r\n")
        self.transport.write(head.encode("latin-1") + payload)

    async def _handle(self, method: str, target: str, headers: dict[str, str],
                      body: bytes) -> None:
        state = self.server.state
        path = target.split("?", 1)[0]
        if method == "GET" and path.endswith("/stats"):
            self._send(200, orjson.dumps(state.stats()))
        elif method == "GET" and path.endswith("/models"):
            self._send(200, orjson.dumps({"object": "list", "data": []}))
        elif method == "POST" and path.endswith(
                ("/chat/completions", "/messages", _GEMINI, _GEMINI_STREAM)):
            anthropic = path.endswith("/messages")
            gemini = path.endswith((_GEMINI, _GEMINI_STREAM))
            try:
                req = orjson.loads(body)
            except orjson.JSONDecodeError:
                self._send(400, _error_body(400, "invalid JSON body"))
                self._done()
                return
            if gemini and "key=" in target.partition("?")[2]:
                self._send(400, _gemini_error(400, "API keys belong in x-goog-api-key"))
                self._done()
                return
            auth = headers.get("authorization", "")
            if anthropic:
                auth = f"Bearer {headers.get('x-api-key', '')}"
            elif gemini:
                auth = f"Bearer {headers.get('x-goog-api-key', '')}"
                req = _gemini_as_chat(unquote(path.rpartition("/models/")[2].rpartition(":")[0]),
                                      req)
            reply = state.reply(req, auth)
            model = str(req.get("model", ""))
            state.in_flight[model] += 1
            state.max_in_flight[model] = max(state.max_in_flight[model], state.in_flight[model])
            try:
                if state.config.latency:
                    await asyncio.sleep(state.config.latency)
                if reply.fault == "hang":
                    await asyncio.sleep(3600)
                stream = gemini and path.endswith(_GEMINI_STREAM)
                if reply.fault == "reset" or (reply.fault == "cut" and (anthropic or gemini)
                                              and not stream):
                    self._reset()
                    return
                if anthropic:
                    self._respond_anthropic(req, reply)
                elif gemini:
                    await self._respond_gemini(req, reply, stream, headers)
                else:
                    await self._respond(req, reply)
            finally:
                state.in_flight[model] -= 1
        else:
            self._send(404, _error_body(404, f"no route {method} {path}"))
        self._done()

    def _done(self) -> None:
        self.busy = False
        if self.buf:
            self._maybe_dispatch()

    async def _respond(self, req: dict[str, Any], reply: _Reply) -> None:
        if reply.status != 200:
            extra = ""
            if reply.retry_after is not None:
                extra = f"Retry-After: {reply.retry_after:g}\r\n"
            self._send(reply.status, _error_body(reply.status, reply.content), extra=extra)
            return
        model = str(req.get("model", ""))
        prompt = "".join(str(m.get("content", "")) for m in req.get("messages") or [])
        usage = _usage(prompt, reply.content + reply.reasoning)
        created = int(time.time())
        finish = "content_filter" if reply.fault in _FILTER_FAULTS else "stop"
        if not req.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": reply.content}
            if reply.reasoning_field:
                msg["reasoning_content"] = reply.reasoning
            self._send(200, orjson.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": created,
                "model": model,
                "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                "usage": usage,
            }))
            return
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
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
            self._chunk(model, created, {"index": 0, "delta": delta, "finish_reason": None})
        if reply.fault == "cut":
            await asyncio.sleep(0)
            self._reset()
            return
        self._chunk(model, created, {"index": 0, "delta": {}, "finish_reason": finish})
        if (req.get("stream_options") or {}).get("include_usage"):
            self._event(orjson.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                                      "created": created, "model": model, "choices": [],
                                      "usage": usage}))
        self._event(b"[DONE]")
        self.transport.write(b"0\r\n\r\n")

    def _respond_anthropic(self, req: dict[str, Any], reply: _Reply) -> None:
        if reply.status != 200:
            extra = ""
            if reply.retry_after is not None:
                extra = f"Retry-After: {reply.retry_after:g}\r\n"
            kind = {429: "rate_limit_error", 401: "authentication_error", 400:
                    "invalid_request_error", 529: "overloaded_error"}.get(reply.status, "api_error")
            self._send(reply.status, orjson.dumps(
                {"type": "error", "error": {"type": kind, "message": reply.content}}), extra=extra)
            return
        messages = req.get("messages") or []
        prompt = block_text(req.get("system")) + "".join(block_text(m.get("content"))
                                                         for m in messages)
        content = reply.content
        blocks: list[dict[str, Any]] = []
        if (req.get("thinking") or {}).get("type") == "enabled":
            thinking = f"{req.get('model', '')} 생각 {len(messages)}"
            blocks.append({"type": "thinking", "thinking": thinking, "signature": "fake"})
            content_for_usage = thinking + content
        else:
            content_for_usage = content
        refused = reply.fault in _FILTER_FAULTS
        if not refused:
            blocks.append({"type": "text", "text": content})
        usage = _usage(prompt, content_for_usage)
        self._send(200, orjson.dumps({
            "id": "msg_fake", "type": "message", "role": "assistant", "model": req.get("model", ""),
            "content": blocks, "stop_reason": "refusal" if refused else "end_turn",
            "usage": {"input_tokens": usage["prompt_tokens"],
                      "output_tokens": usage["completion_tokens"]},
        }))

    async def _respond_gemini(self, req: dict[str, Any], reply: _Reply, stream: bool,
                              headers: dict[str, str]) -> None:
        if reply.status != 200:
            status, message = reply.status, reply.content
            if reply.fault is None and status == 401:
                # The wrong-key reply: Google's answers to a missing and to a bad key.
                given = headers.get("x-goog-api-key", "")
                status, message = ((400, f"API key not valid: {given}") if given else
                                   (403, "Method doesn't allow unregistered callers"))
            self._send(status, _gemini_error(status, message, reply.retry_after))
            return
        model = str(req["model"])
        messages = req["messages"]
        prompt = "".join(str(m["content"]) for m in messages)
        thought = (f"{model} 생각 {len(messages)}" if req["include_thoughts"] else "")
        usage = _usage(prompt, reply.content)
        meta = {"promptTokenCount": usage["prompt_tokens"],
                "candidatesTokenCount": usage["completion_tokens"],
                "totalTokenCount": usage["total_tokens"]}
        if thought:
            meta["thoughtsTokenCount"] = _usage("", thought)["completion_tokens"]
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
            events[-1]["candidates"][0]["finishReason"] = "STOP"
            events[-1]["usageMetadata"] = meta
        if not stream:
            merged = [p for e in events for c in e.get("candidates", [])
                      for p in c.get("content", {}).get("parts", [])]
            last = dict(events[-1])
            if merged:
                last["candidates"] = [{**last["candidates"][0],
                                       "content": {"role": "model", "parts": merged}}]
            self._send(200, orjson.dumps(last))
            return
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
        if reply.fault == "cut":
            # Never the last event, which alone carries finishReason.
            events = events[: len(events) // 2]
        for event in events:
            self._event(orjson.dumps(event))
        if reply.fault == "cut":
            await asyncio.sleep(0)
            self._reset()
            return
        self.transport.write(b"0\r\n\r\n")

    def _chunk(self, model: str, created: int, choice: dict[str, Any]) -> None:
        self._event(orjson.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                                  "created": created, "model": model, "choices": [choice]}))

    def _event(self, data: bytes) -> None:
        assert self.transport is not None
        payload = b"data: " + data + b"\n\n"
        self.transport.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")


def _gemini_as_chat(model: str, req: dict[str, Any]) -> dict[str, Any]:
    """A generateContent body as the chat body `FakeState.reply` reads (same conversation, so
    the same answers as over the other APIs)."""
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


def _gemini_error(status: int, message: str, retry_after: float | None = None) -> bytes:
    err: dict[str, Any] = {"code": status, "message": message, "status": {
        400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
        429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}.get(status, "INTERNAL")}
    if retry_after is not None:
        err["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                           "retryDelay": f"{retry_after:g}s"}]
    return orjson.dumps({"error": err})


def _error_body(status: int, message: str) -> bytes:
    kind = {429: "rate_limit_error", 401: "authentication_error"}.get(status, "server_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "code": status}})


class FakeServer:
    """The server; ``start`` in a running loop, or ``start_in_thread`` from synchronous code."""

    def __init__(self, config: FakeConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.state = FakeState(config or FakeConfig())
        self.host = host
        self.port = port
        self.connections: set[_HTTPProtocol] = set()
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        """The ``api_base`` of the Gemini routes (Google's is ``…/v1beta``)."""
        return f"http://{self.host}:{self.port}/v1beta"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _HTTPProtocol(self), self.host, self.port, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for c in list(self.connections):
                c._close_now()
            await self._server.wait_closed()

    def start_in_thread(self) -> str:
        """Run the server on its own event loop in a daemon thread; return the base URL."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self.start())
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="koarena-fake-server", daemon=True)
        self._thread.start()
        ready.wait()
        return self.base_url

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


async def serve_forever(config: FakeConfig, host: str, port: int,
                        port_file: Path | None = None) -> None:
    """Run until cancelled; write the bound port to ``port_file`` (for scripts using port 0)."""
    server = FakeServer(config, host, port)
    await server.start()
    log.info("fake OpenAI-compatible server on %s", server.base_url)
    if port_file is not None:
        port_file.write_text(str(server.port), encoding="utf-8")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
