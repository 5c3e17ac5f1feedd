"""The three batch APIs behind one small contract, `BatchApi`: submit items, poll, fetch results.

Each adapter is the endpoint's online provider plus the batch routes, so a batch item's body is
exactly the online request's (``stream`` removed) and its result is parsed by the same code:

- OpenAI (and any server with the same routes, e.g. vLLM's): the items as a JSONL file uploaded
  to ``/files`` (``purpose=batch``), ``POST /batches`` for ``/v1/chat/completions``, results in
  the output and error files.
- Anthropic Message Batches: ``POST /messages/batches`` with ``{custom_id, params}`` items,
  results at the batch's ``results_url``.
- Gemini batch mode: ``POST /models/{model}:batchGenerateContent`` with inlined requests keyed
  by ``metadata.key``, results inlined in the finished batch.

A result is a `ChatResponse` or the `ProviderError` the online call would have raised: an
item's 429/5xx or an expired item is transient (retried), a 4xx fatal. An item missing from the
results is expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import orjson

from koarena.config import Endpoint, ModelEndpoint
from koarena.errors import ConfigError
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.apis import ANTHROPIC, GEMINI, api_family
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    ProviderError,
    TransientError,
)
from koarena.providers.gemini import GeminiProvider
from koarena.providers.openai_compat import OpenAICompatProvider

ItemResult = ChatResponse | ProviderError


@dataclass(frozen=True)
class BatchState:
    """One poll: the provider's status word, items done of all, and whether it has ended
    (results can be fetched: completed, ended, expired, failed or cancelled)."""

    status: str
    done: int
    total: int
    ended: bool


class BatchApi(Protocol):
    """What the batch runner needs from a provider's batch API."""

    async def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        """Create one batch of ``(custom_id, request)`` items; its id."""

    async def poll(self, batch_id: str) -> BatchState: ...

    async def results(self, batch_id: str) -> dict[str, ItemResult]:
        """Results of an ended batch by custom id."""

    async def aclose(self) -> None: ...


async def _read_json(resp: aiohttp.ClientResponse) -> Any:
    return orjson.loads(await resp.read())


async def _read_lines(resp: aiohttp.ClientResponse) -> list[Any]:
    return [orjson.loads(line) for line in (await resp.read()).splitlines() if line.strip()]


def _expired(where: str) -> TransientError:
    return TransientError(f"{where}: batch item expired before it was processed")


class OpenAIBatch(OpenAICompatProvider):
    """OpenAI's Batch API (``/files`` + ``/batches``) for one endpoint."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        super().__init__(model, endpoint)
        self.base = endpoint.api_base

    def item_line(self, custom_id: str, request: ChatRequest) -> dict[str, Any]:
        """One line of an OpenAI batch input file (also what ``--batch-file`` writes)."""
        body = self.build_body(request)
        body.pop("stream", None)
        body.pop("stream_options", None)
        return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions",
                "body": body}

    async def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        """Upload the items as a JSONL file and create the batch."""
        data = b"".join(orjson.dumps(self.item_line(cid, r)) + b"\n" for cid, r in items)
        form = aiohttp.FormData()
        form.add_field("purpose", "batch")
        form.add_field("file", data, filename="koarena-batch.jsonl",
                       content_type="application/jsonl")
        payload = form()
        uploaded = await self._send("POST", f"{self.base}/files", _read_json, payload,
                                    headers={"Content-Type": payload.content_type})
        created = await self._send("POST", f"{self.base}/batches", _read_json, orjson.dumps({
            "input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions",
            "completion_window": "24h", "metadata": {"client": "koarena"}}))
        return str(created["id"])

    async def _get(self, batch_id: str) -> Any:
        return await self._send("GET", f"{self.base}/batches/{batch_id}", _read_json)

    async def poll(self, batch_id: str) -> BatchState:
        data = await self._get(batch_id)
        counts = data.get("request_counts") or {}
        status = str(data.get("status"))
        return BatchState(status, int(counts.get("completed") or 0)
                          + int(counts.get("failed") or 0), int(counts.get("total") or 0),
                          status in {"completed", "expired", "failed", "cancelled"})

    async def results(self, batch_id: str) -> dict[str, ItemResult]:
        data = await self._get(batch_id)
        if data.get("status") == "failed":
            errors = (data.get("errors") or {}).get("data") or []
            raise FatalError(f"{self._where()}: batch {batch_id} failed validation: "
                             f"{self._scrub(str(errors)[:300])}")
        out: dict[str, ItemResult] = {}
        for key in ("output_file_id", "error_file_id"):
            if data.get(key):
                lines = await self._send("GET", f"{self.base}/files/{data[key]}/content",
                                         _read_lines)
                for line in lines:
                    out[str(line["custom_id"])] = self.item_result(line)
        return out

    def item_result(self, line: dict[str, Any]) -> ItemResult:
        """One line of an OpenAI batch output or error file (vLLM's ``run-batch`` output too)."""
        response = line.get("response") or {}
        error = line.get("error")
        status = int(response.get("status_code") or 0)
        if status == 200:
            try:
                return self._parse(response.get("body"))
            except ProviderError as exc:
                return exc
        if isinstance(error, dict) and error.get("code") == "batch_expired":
            return _expired(self._where())
        body = response.get("body") or {}
        err = body.get("error") if isinstance(body, dict) else None
        message = (err.get("message") if isinstance(err, dict) else None) or str(error or err)
        return self._error(status or 500, str(message), None)


class AnthropicBatch(AnthropicProvider):
    """Anthropic's Message Batches API for one endpoint."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        super().__init__(model, endpoint)
        self.base = f"{endpoint.api_base}/messages/batches"

    async def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        requests = []
        for cid, request in items:
            params = self.build_body(request)
            params.pop("stream", None)
            requests.append({"custom_id": cid, "params": params})
        created = await self._send("POST", self.base, _read_json,
                                   orjson.dumps({"requests": requests}))
        return str(created["id"])

    async def poll(self, batch_id: str) -> BatchState:
        data = await self._send("GET", f"{self.base}/{batch_id}", _read_json)
        counts = data.get("request_counts") or {}
        total = sum(int(v or 0) for v in counts.values())
        status = str(data.get("processing_status"))
        return BatchState(status, total - int(counts.get("processing") or 0), total,
                          status == "ended")

    async def results(self, batch_id: str) -> dict[str, ItemResult]:
        data = await self._send("GET", f"{self.base}/{batch_id}", _read_json)
        url = data.get("results_url")
        if not url:
            raise TransientError(f"{self._where()}: batch {batch_id} has no results yet")
        out: dict[str, ItemResult] = {}
        for line in await self._send("GET", str(url), _read_lines):
            out[str(line["custom_id"])] = self.item_result(line.get("result") or {})
        return out

    def item_result(self, result: dict[str, Any]) -> ItemResult:
        """One item of a Message Batch's results."""
        kind = result.get("type")
        if kind == "succeeded":
            try:
                return self.parse_message(result.get("message"))
            except ProviderError as exc:
                return exc
        if kind == "errored":
            err = ((result.get("error") or {}).get("error")) or {}
            status = {"rate_limit_error": 429, "overloaded_error": 529, "api_error": 500,
                      "authentication_error": 401}.get(str(err.get("type")), 400)
            return self._error(status, str(err.get("message", "")), None)
        return _expired(self._where()) if kind == "expired" else TransientError(
            f"{self._where()}: batch item {kind}")


class GeminiBatch(GeminiProvider):
    """Gemini's batch mode (inlined requests) for one endpoint."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint) -> None:
        super().__init__(model, endpoint)
        self.base = endpoint.api_base
        self.create_url = self.url.rpartition(":")[0] + ":batchGenerateContent"

    async def submit(self, items: Sequence[tuple[str, ChatRequest]]) -> str:
        body = {"batch": {"displayName": f"koarena {self.model.name}", "inputConfig": {
            "requests": {"requests": [{"request": self.build_body(r), "metadata": {"key": cid}}
                                      for cid, r in items]}}}}
        created = await self._send("POST", self.create_url, _read_json, orjson.dumps(body))
        return str(created["name"])

    async def _get(self, batch_id: str) -> Any:
        return await self._send("GET", f"{self.base}/{batch_id}", _read_json)

    async def poll(self, batch_id: str) -> BatchState:
        data = await self._get(batch_id)
        meta = data.get("metadata") or {}
        stats = meta.get("batchStats") or {}
        total = int(stats.get("requestCount") or 0)
        state = str(meta.get("state"))
        return BatchState(state, total - int(stats.get("pendingRequestCount") or 0), total,
                          bool(data.get("done")))

    async def results(self, batch_id: str) -> dict[str, ItemResult]:
        data = await self._get(batch_id)
        meta = data.get("metadata") or {}
        output = meta.get("output") or (data.get("response") or {})
        responses = (output.get("inlinedResponses") or {}).get("inlinedResponses") or []
        out: dict[str, ItemResult] = {}
        for entry in responses:
            key = str((entry.get("metadata") or {}).get("key"))
            out[key] = self.item_result(entry)
        return out

    def item_result(self, entry: dict[str, Any]) -> ItemResult:
        """One inlined response of a finished Gemini batch."""
        if "response" in entry:
            try:
                return self.parse_response(entry["response"])
            except ProviderError as exc:
                return exc
        err = entry.get("error") or {}
        return self._error(int(err.get("code") or 500), str(err.get("message", "")), None)


def make_batch_api(cfg: ModelEndpoint) -> BatchApi:
    """The batch API of ``cfg``'s first endpoint (call inside the running loop)."""
    if not cfg.endpoints:
        raise ConfigError(f"model {cfg.name!r} has no endpoints")
    family = api_family(cfg.api_type, f"model {cfg.name!r}")
    if family is ANTHROPIC:
        return AnthropicBatch(cfg, cfg.endpoints[0])
    if family is GEMINI:
        return GeminiBatch(cfg, cfg.endpoints[0])
    return OpenAIBatch(cfg, cfg.endpoints[0])
