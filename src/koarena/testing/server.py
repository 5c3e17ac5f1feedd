"""The fake model server: routes requests to the API that speaks them and runs on 127.0.0.1.

Every API route asks the same `FakeState` for its reply (so a conversation gets the same answer
over any API), then puts it in its own wire shape. ``GET …/stats`` returns the request counters,
``GET …/models`` an empty model list.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import orjson

from koarena.testing.anthropic import AnthropicRoutes
from koarena.testing.batches import BatchRoutes
from koarena.testing.gemini import GeminiRoutes
from koarena.testing.http import Connection
from koarena.testing.model import FakeConfig, FakeState
from koarena.testing.openai import OpenAIRoutes, error_body
from koarena.testing.routes import ApiRoutes

log = logging.getLogger(__name__)


APIS: tuple[ApiRoutes, ...] = (OpenAIRoutes(), AnthropicRoutes(), GeminiRoutes())
# (method and path, what it does), for ``koarena fake-server --help``.
ROUTES: tuple[tuple[str, str], ...] = (
    *(route for api in APIS for route in api.routes),
    *BatchRoutes.routes,
    ("GET /v1/stats", "request counters (by prompt, model, fault; max in flight)"),
    ("GET /v1/models", "an empty model list"),
)


class FakeServer:
    """The server; ``start`` in a running loop, or ``start_in_thread`` from synchronous code."""

    def __init__(self, config: FakeConfig | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.state = FakeState(config or FakeConfig())
        self.batches = BatchRoutes(self.state)
        self.host = host
        self.port = port
        self.connections: set[Connection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._open = asyncio.Event()
        self._open.set()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def gemini_base_url(self) -> str:
        """The ``api_base`` of the Gemini routes (Google's is ``…/v1beta``)."""
        return f"http://{self.host}:{self.port}/v1beta"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._server = await loop.create_server(
            lambda: Connection(self._handle, self.connections), self.host, self.port,
            backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for c in list(self.connections):
                c.close_now()
            await self._server.wait_closed()

    def start_in_thread(self) -> str:
        """Run the server on its own event loop in a daemon thread; return the base URL."""
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
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

    def hold(self) -> None:
        """Hold every model request unanswered (counted, in flight) until `release`: a test
        can act while a client is at a known point of its run, without waiting for a clock."""
        self._call(self._open.clear)

    def release(self) -> None:
        """Answer the held requests and stop holding new ones."""
        self._call(self._open.set)

    def _call(self, action: Callable[[], None]) -> None:
        if self._loop is None:
            action()
        else:
            # from any thread: the event belongs to the server's loop
            self._loop.call_soon_threadsafe(action)

    async def _handle(self, conn: Connection, method: str, target: str,
                      headers: dict[str, str], body: bytes) -> None:
        state = self.state
        path = target.split("?", 1)[0]
        api = next((a for a in APIS if a.matches(path)), None) if method == "POST" else None
        if method == "GET" and path.endswith("/stats"):
            conn.send(200, orjson.dumps(state.stats()))
            return
        if method == "GET" and path.endswith("/models"):
            conn.send(200, orjson.dumps({"object": "list", "data": []}))
            return
        if self.batches.matches(method, path):
            try:
                await self.batches.handle(conn, method, path, headers, body)
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                conn.send(400, error_body(400, f"bad batch request ({type(exc).__name__})"))
            return
        if api is None:
            conn.send(404, error_body(404, f"no route {method} {path}"))
            return
        try:
            req = orjson.loads(body)
        except orjson.JSONDecodeError:
            conn.send(400, error_body(400, "invalid JSON body"))
            return
        rejection = api.rejection(target)
        if rejection is not None:
            conn.send(400, rejection)
            return
        auth = api.auth(headers)
        req = api.chat_body(path, req)
        reply = state.reply(req, auth)
        model = str(req.get("model", ""))
        state.in_flight[model] += 1
        state.max_in_flight[model] = max(state.max_in_flight[model], state.in_flight[model])
        try:
            await self._open.wait()
            if state.config.latency:
                await asyncio.sleep(state.config.latency)
            if reply.fault == "hang":
                await asyncio.sleep(3600)
            if reply.fault == "reset" or (reply.fault == "cut" and api.resets_on_cut(path)):
                conn.reset()
                return
            await api.respond(conn, path, headers, req, reply)
        finally:
            state.in_flight[model] -= 1


async def serve_forever(config: FakeConfig, host: str, port: int,
                        port_file: Path | None = None) -> None:
    """Run until cancelled; write the bound port to ``port_file`` (for scripts using port 0)."""
    server = FakeServer(config, host, port)
    await server.start()
    log.info("fake model server on %s", server.base_url)
    if port_file is not None:
        port_file.write_text(str(server.port), encoding="utf-8")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
