"""The smallest runner task, for the runner's own tests: one request per key, its reply as the
record."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koarena.providers.base import ChatRequest, Message
from koarena.runner.tasks import Chat


@dataclass(frozen=True)
class Ask:
    """Asks ``key`` of ``model``; the record is the key, the reply and its finish reason."""

    key: str
    output: Path
    model: str = "m"

    def planned_requests(self) -> list[ChatRequest]:
        return [ChatRequest(self.model, [Message("user", self.key)])]

    async def run(self, chat: Chat) -> dict[str, Any]:
        resp = await chat(self.planned_requests()[0])
        return {"question_id": self.key, "text": resp.content, "finish": resp.finish_reason}
