"""The batch journal, ``<bench>/logs/batches.jsonl``: what was submitted, so that a killed run
(kill -9 included) resumes polling and never submits the same work twice.

A line is written, and fsynced, as soon as a batch exists, before the first poll:
``{"event": "submitted", "batch_id", "model", "stage", "time", "items": {custom_id: task key}}``.
An item's custom id is `request_id` of its request, so a resumed run that asks the same request
again finds the batch that already holds it. When a batch's results have been read, the items
that failed are listed (``{"event": "failed", "batch_id", "items": [custom_id, ...]}``): their
next attempt goes into a new batch.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from koarena.jsonl import append_jsonl, iter_jsonl
from koarena.providers.base import ChatRequest


def request_id(request: ChatRequest) -> str:
    """A custom id naming ``request`` exactly: the same request always gets the same id.

    >>> from koarena.providers.base import Message
    >>> a = ChatRequest("m", [Message("user", "hi")], 0.0, 10)
    >>> request_id(a) == request_id(ChatRequest("m", [Message("user", "hi")], 0.0, 10))
    True
    >>> request_id(a) == request_id(ChatRequest("m", [Message("user", "hi")], 0.0, 20))
    False
    """
    payload = orjson.dumps([request.model, [[m.role, m.content] for m in request.messages],
                            request.temperature, request.max_tokens, request.reasoning,
                            request.extra_body], option=orjson.OPT_SORT_KEYS)
    return "k" + hashlib.blake2b(payload, digest_size=20).hexdigest()


@dataclass
class BatchJournal:
    """The journal of one bench; `load` it before use."""

    path: Path
    owner: dict[str, tuple[str, str]] = field(default_factory=dict)
    """custom id → (batch id, model) of the batch that holds it and has not failed it."""

    def load(self) -> None:
        """Read the journal (a torn last line is ignored)."""
        self.owner.clear()
        if not self.path.is_file():
            return
        for _, rec in iter_jsonl(self.path, strict=False):
            if rec.get("event") == "submitted":
                for cid in rec.get("items") or {}:
                    self.owner[str(cid)] = (str(rec["batch_id"]), str(rec["model"]))
            elif rec.get("event") == "failed":
                for cid in rec.get("items") or []:
                    if self.owner.get(str(cid), ("",))[0] == rec.get("batch_id"):
                        del self.owner[str(cid)]

    def submitted(self, batch_id: str, model: str, stage: str, items: dict[str, str]) -> None:
        """Record a new batch and its items (custom id → task key) before it is polled."""
        append_jsonl(self.path, [{"event": "submitted", "batch_id": batch_id, "model": model,
                                  "stage": stage, "time": time.time(), "items": items}])
        for cid in items:
            self.owner[cid] = (batch_id, model)

    def failed(self, batch_id: str, items: list[str]) -> None:
        """Record items of ``batch_id`` whose result was an error: never reuse them."""
        if not items:
            return
        append_jsonl(self.path, [{"event": "failed", "batch_id": batch_id, "items": items,
                                  "time": time.time()}])
        for cid in items:
            if self.owner.get(cid, ("",))[0] == batch_id:
                del self.owner[cid]
