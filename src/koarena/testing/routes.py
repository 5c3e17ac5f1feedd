"""What the fake server needs from one API family's routes, with the defaults most share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from koarena.testing.http import Connection
from koarena.testing.model import Reply


class ApiRoutes(ABC):
    """One API family: which POSTs are its own, how it carries the key, how it replies."""

    routes: tuple[tuple[str, str], ...]
    """(method and path, what it does), for ``koarena fake-server --help``."""

    @abstractmethod
    def matches(self, path: str) -> bool:
        """Whether a POST to ``path`` is this API's."""

    @abstractmethod
    def auth(self, headers: dict[str, str]) -> str:
        """The request's key as an ``Authorization`` value (``Bearer <key>``)."""

    def rejection(self, target: str) -> bytes | None:
        """A 400 body for a request this API refuses before reading it, or None."""
        return None

    def chat_body(self, path: str, req: dict[str, Any]) -> dict[str, Any]:
        """The request as the chat body `FakeState.reply` reads."""
        return req

    @abstractmethod
    def resets_on_cut(self, path: str) -> bool:
        """Whether a ``cut`` fault is a plain reset here (the reply is not streamed)."""

    @abstractmethod
    async def respond(self, conn: Connection, path: str, headers: dict[str, str],
                      req: dict[str, Any], reply: Reply) -> None:
        """Send ``reply`` in this API's shape."""
