"""The three batch APIs on the fake server, answering each item as the online routes would.

- OpenAI: ``POST /v1/files`` (multipart, ``purpose=batch``), ``POST /v1/batches``,
  ``GET /v1/batches/{id}``, ``GET /v1/files/{id}/content`` (output and error files).
- Anthropic Message Batches: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``,
  ``GET /v1/messages/batches/{id}/results``.
- Gemini batch mode (inlined requests): ``POST /v1beta/models/{model}:batchGenerateContent``,
  ``GET /v1beta/batches/{id}``.

Every item gets `FakeState.reply`, so fault rules reach single items: a status fault becomes
that item's error, the rest succeed. A batch stays in progress for ``FakeConfig.batch_delay``
seconds (half its items counted done after half the time), then ends; with
``batch_expire`` it expires instead and only the first half of its items have results.
``GET /v1/stats`` counts batch creations (``batches_created``), so a test can prove a resumed
run never submitted twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import orjson

from koarena.testing.anthropic import message
from koarena.testing.gemini import GeminiRoutes, generate_response
from koarena.testing.http import Connection
from koarena.testing.model import FakeState, Reply
from koarena.testing.openai import completion, error_body

_GEMINI_BATCH = ":batchGenerateContent"
_GEMINI_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch"

# An item's outcome at a moment of its batch (`_Batch.outcomes`).
SUCCEEDED, FAILED, UNFINISHED = "succeeded", "failed", "unfinished"


@dataclass
class _Item:
    custom_id: str
    body: dict[str, Any] | None = None
    status: int = 200
    error: str = ""


@dataclass
class _Batch:
    id: str
    api: str
    created: float
    items: list[_Item] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def outcomes(self, done: int) -> Iterator[tuple[int, _Item, str]]:
        """Each item with its index and outcome once the first ``done`` have finished:
        `SUCCEEDED` (its ``body``), `FAILED` (its ``status`` and ``error``) or `UNFINISHED`
        (still running, or expired)."""
        for n, item in enumerate(self.items):
            if n >= done:
                yield n, item, UNFINISHED
            else:
                yield n, item, SUCCEEDED if item.body is not None else FAILED

    def failed(self, done: int) -> int:
        """How many of the first ``done`` items failed."""
        return sum(1 for _, _, outcome in self.outcomes(done) if outcome == FAILED)


class BatchRoutes:
    """State and handlers of the batch routes (one instance per server)."""

    routes: tuple[tuple[str, str], ...] = (
        ("POST /v1/files, /v1/batches", "OpenAI batch input upload and batch creation"),
        ("GET /v1/batches/{id}, /v1/files/{id}/content", "OpenAI batch status and results"),
        ("POST /v1/messages/batches", "Anthropic Message Batches (GET …/{id}, …/{id}/results)"),
        ("POST /v1beta/models/{m}:batchGenerateContent", "Gemini batch mode (GET …/batches/{id})"),
    )

    def __init__(self, state: FakeState) -> None:
        self.state = state
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}

    def matches(self, method: str, path: str) -> bool:
        """Whether ``method path`` is a batch route."""
        if method == "POST":
            return path.endswith(("/v1/files", "/v1/batches", "/messages/batches",
                                  _GEMINI_BATCH))
        return method == "GET" and ("/batches/" in path or "/files/" in path)

    async def handle(self, conn: Connection, method: str, path: str,
                     headers: dict[str, str], body: bytes) -> None:
        """Answer one batch-route request."""
        if method == "POST" and path.endswith("/v1/files"):
            self._upload(conn, headers, body)
        elif method == "POST" and path.endswith("/v1/batches"):
            self._create_openai(conn, headers, orjson.loads(body))
        elif method == "POST" and path.endswith("/messages/batches"):
            self._create_anthropic(conn, headers, orjson.loads(body))
        elif method == "POST":
            self._create_gemini(conn, path, headers, orjson.loads(body))
        elif path.startswith("/v1/files/") and path.endswith("/content"):
            self._file_content(conn, path.split("/")[3])
        elif path.endswith("/results"):
            self._anthropic_results(conn, path.split("/")[-2])
        else:
            self._status(conn, path.rstrip("/").split("/")[-1], headers)

    # creation

    def _new(self, api: str, prefix: str) -> _Batch:
        self.state.batches_created += 1
        batch = _Batch(f"{prefix}{self.state.batches_created}", api, time.time())
        self.batches[batch.id] = batch
        return batch

    def _answer(self, item: _Item, chat_body: dict[str, Any], auth: str,
                shape: Any, api_body: dict[str, Any]) -> None:
        reply: Reply = self.state.reply(chat_body, auth)
        if reply.status != 200 or reply.fault in {"hang", "reset", "cut"}:
            item.status = reply.status if reply.status != 200 else 500
            item.error = reply.content or f"injected {reply.fault}"
        else:
            item.body = shape(api_body, reply)

    def _upload(self, conn: Connection, headers: dict[str, str], body: bytes) -> None:
        ctype = headers.get("content-type", "")
        boundary = ctype.partition("boundary=")[2].strip('"').encode()
        content = b""
        for part in body.split(b"--" + boundary):
            head, _, data = part.partition(b"\r\n\r\n")
            if b'name="file"' in head:
                content = data.removesuffix(b"\r\n")
        if not boundary or not content:
            conn.send(400, error_body(400, "expected a multipart upload with a file part"))
            return
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = content
        conn.send(200, orjson.dumps({"id": file_id, "object": "file", "purpose": "batch",
                                     "bytes": len(content), "filename": "batch.jsonl"}))

    def _create_openai(self, conn: Connection, headers: dict[str, str],
                       req: dict[str, Any]) -> None:
        raw = self.files.get(str(req.get("input_file_id")))
        if raw is None:
            conn.send(400, error_body(400, "no such input file"))
            return
        batch = self._new("openai", "batch_")
        batch.extra["endpoint"] = req.get("endpoint")
        for line in raw.splitlines():
            if not line.strip():
                continue
            entry = orjson.loads(line)
            item = _Item(str(entry["custom_id"]))
            self._answer(item, entry["body"], headers.get("authorization", ""), completion,
                         entry["body"])
            batch.items.append(item)
        conn.send(200, orjson.dumps(self._openai_object(batch)))

    def _create_anthropic(self, conn: Connection, headers: dict[str, str],
                          req: dict[str, Any]) -> None:
        batch = self._new("anthropic", "msgbatch_")
        for entry in req.get("requests") or []:
            item = _Item(str(entry["custom_id"]))
            self._answer(item, entry["params"], f"Bearer {headers.get('x-api-key', '')}",
                         message, entry["params"])
            batch.items.append(item)
        conn.send(200, orjson.dumps(self._anthropic_object(batch, headers)))

    def _create_gemini(self, conn: Connection, path: str, headers: dict[str, str],
                       req: dict[str, Any]) -> None:
        model_path = path.removesuffix(_GEMINI_BATCH)
        batch = self._new("gemini", "")
        spec = req.get("batch") or {}
        requests = ((spec.get("inputConfig") or {}).get("requests") or {}).get("requests") or []
        routes = GeminiRoutes()
        for i, entry in enumerate(requests):
            key = str((entry.get("metadata") or {}).get("key", i))
            chat = routes.chat_body(model_path + ":generateContent", entry["request"])
            item = _Item(key)
            self._answer(item, chat, f"Bearer {headers.get('x-goog-api-key', '')}",
                         generate_response, chat)
            batch.items.append(item)
        batch.extra["model"] = unquote(model_path.rpartition("/models/")[2])
        conn.send(200, orjson.dumps(self._gemini_object(batch)))

    # progress

    def _progress(self, batch: _Batch) -> tuple[str, int]:
        """``(phase, items done)``: phase is ``running``, ``ended`` or ``expired``."""
        elapsed = time.time() - batch.created
        delay = self.state.config.batch_delay
        if elapsed >= delay:
            if self.state.config.batch_expire:
                return "expired", len(batch.items) // 2
            return "ended", len(batch.items)
        return "running", len(batch.items) // 2 if elapsed >= delay / 2 else 0

    def _status(self, conn: Connection, batch_id: str, headers: dict[str, str]) -> None:
        batch = self.batches.get(batch_id)
        if batch is None:
            conn.send(404, error_body(404, f"no batch {batch_id}"))
        elif batch.api == "openai":
            conn.send(200, orjson.dumps(self._openai_object(batch)))
        elif batch.api == "anthropic":
            conn.send(200, orjson.dumps(self._anthropic_object(batch, headers)))
        else:
            conn.send(200, orjson.dumps(self._gemini_object(batch)))

    def _openai_object(self, batch: _Batch) -> dict[str, Any]:
        phase, done = self._progress(batch)
        failed = batch.failed(done)
        status = {"running": "in_progress" if done else "validating", "ended": "completed",
                  "expired": "expired"}[phase]
        out: dict[str, Any] = {
            "id": batch.id, "object": "batch", "endpoint": batch.extra.get("endpoint"),
            "completion_window": "24h", "status": status, "created_at": int(batch.created),
            "output_file_id": None, "error_file_id": None,
            "request_counts": {"total": len(batch.items), "completed": done - failed,
                               "failed": failed + (len(batch.items) - done
                                                   if phase == "expired" else 0)}}
        if phase != "running":
            out["output_file_id"] = f"{batch.id}-output"
            out["error_file_id"] = f"{batch.id}-errors"
        return out

    def _file_content(self, conn: Connection, file_id: str) -> None:
        batch_id, _, kind = file_id.rpartition("-")
        batch = self.batches.get(batch_id)
        if batch is None or kind not in {"output", "errors"}:
            conn.send(404, error_body(404, f"no file {file_id}"))
            return
        phase, done = self._progress(batch)
        lines: list[dict[str, Any]] = []
        for n, item, outcome in batch.outcomes(done):
            if kind == "output" and outcome == SUCCEEDED:
                lines.append({"id": f"req_{n}", "custom_id": item.custom_id, "error": None,
                              "response": {"status_code": 200, "request_id": f"r{n}",
                                           "body": item.body}})
            elif kind == "errors" and outcome == FAILED:
                lines.append({"id": f"req_{n}", "custom_id": item.custom_id, "error": None,
                              "response": {"status_code": item.status, "request_id": f"r{n}",
                                           "body": orjson.loads(error_body(item.status,
                                                                           item.error))}})
            elif kind == "errors" and outcome == UNFINISHED and phase == "expired":
                lines.append({"id": f"req_{n}", "custom_id": item.custom_id,
                              "response": None, "error": {
                                  "code": "batch_expired",
                                  "message": "This request could not be executed before "
                                             "the completion window expired."}})
        conn.send(200, b"".join(orjson.dumps(x) + b"\n" for x in lines),
                  ctype="application/jsonl")

    def _anthropic_object(self, batch: _Batch, headers: dict[str, str]) -> dict[str, Any]:
        phase, done = self._progress(batch)
        errored = batch.failed(done)
        ended = phase != "running"
        host = headers.get("host", "127.0.0.1")
        return {
            "id": batch.id, "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else len(batch.items) - done,
                "succeeded": done - errored, "errored": errored, "canceled": 0,
                "expired": len(batch.items) - done if phase == "expired" else 0},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(batch.created)),
            "results_url": (f"http://{host}/v1/messages/batches/{batch.id}/results"
                            if ended else None)}

    def _anthropic_results(self, conn: Connection, batch_id: str) -> None:
        batch = self.batches.get(batch_id)
        if batch is None or self._progress(batch)[0] == "running":
            conn.send(404, error_body(404, f"no results for {batch_id}"))
            return
        _, done = self._progress(batch)
        lines: list[dict[str, Any]] = []
        for _, item, outcome in batch.outcomes(done):
            if outcome == UNFINISHED:
                result: dict[str, Any] = {"type": "expired"}
            elif outcome == SUCCEEDED:
                result = {"type": "succeeded", "message": item.body}
            else:
                kind = {429: "rate_limit_error", 529: "overloaded_error"}.get(
                    item.status, "invalid_request_error" if item.status < 500 else "api_error")
                result = {"type": "errored", "error": {"type": "error", "error": {
                    "type": kind, "message": item.error}}}
            lines.append({"custom_id": item.custom_id, "result": result})
        conn.send(200, b"".join(orjson.dumps(x) + b"\n" for x in lines),
                  ctype="application/jsonl")

    def _gemini_object(self, batch: _Batch) -> dict[str, Any]:
        phase, done = self._progress(batch)
        state = {"running": "BATCH_STATE_RUNNING" if done else "BATCH_STATE_PENDING",
                 "ended": "BATCH_STATE_SUCCEEDED", "expired": "BATCH_STATE_EXPIRED"}[phase]
        failed = batch.failed(done)
        meta: dict[str, Any] = {
            "@type": _GEMINI_TYPE, "name": f"batches/{batch.id}",
            "model": f"models/{batch.extra['model']}", "state": state,
            "batchStats": {"requestCount": str(len(batch.items)),
                           "successfulRequestCount": str(done - failed),
                           "failedRequestCount": str(failed),
                           "pendingRequestCount": str(len(batch.items) - done)}}
        out: dict[str, Any] = {"name": f"batches/{batch.id}", "metadata": meta}
        if phase == "ended":
            responses = []
            for _, item, outcome in batch.outcomes(done):
                entry: dict[str, Any] = {"metadata": {"key": item.custom_id}}
                if outcome == SUCCEEDED:
                    entry["response"] = item.body
                else:
                    entry["error"] = {"code": item.status, "message": item.error}
                responses.append(entry)
            meta["output"] = {"inlinedResponses": {"inlinedResponses": responses}}
            out["done"] = True
        elif phase == "expired":
            out["done"] = True
        return out
