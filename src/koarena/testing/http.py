"""HTTP/1.1 for the fake server: a plain asyncio protocol with keep-alive and Content-Length
request bodies only.

No web framework, so that it costs little CPU: the throughput benchmark runs the server on the
same two cores as the client it measures. The routes write replies through `Connection`'s
``send`` (one whole response), ``start_stream``/``event``/``end_stream`` (chunked server-sent
events) and ``reset``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Awaitable, Callable
from typing import cast

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
            529: "Overloaded"}

# (connection, method, target, lower-cased headers, body)
Handler = Callable[["Connection", str, str, dict[str, str], bytes], Awaitable[None]]


class Connection(asyncio.Protocol):
    """One client connection; requests on it are handled one at a time, in order."""

    def __init__(self, handler: Handler, connections: set[Connection]) -> None:
        self.handler = handler
        self.connections = connections
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self.tasks: set[asyncio.Task[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
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
            self.close_now()
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
        task = asyncio.ensure_future(self._serve(method, target, headers, body))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, method: str, target: str, headers: dict[str, str],
                     body: bytes) -> None:
        await self.handler(self, method, target, headers, body)
        self.busy = False
        if self.buf and self.transport is not None and not self.transport.is_closing():
            self._maybe_dispatch()

    def close_now(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashed proxy or server would."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()

    def send(self, status: int, payload: bytes, ctype: str = "application/json",
             extra: str = "") -> None:
        """One whole response; ``extra`` is more header lines, each ending in CRLF."""
        assert self.transport is not None
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(payload)}\r\n{extra}\r\n")
        self.transport.write(head.encode("latin-1") + payload)

    def start_stream(self) -> None:
        """The head of a 200 server-sent-event stream (chunked)."""
        assert self.transport is not None
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")

    def event(self, data: bytes, name: str | None = None) -> None:
        """One ``data:`` event of the stream, after an ``event: name`` line when named (as
        Anthropic sends them)."""
        assert self.transport is not None
        payload = b"data: " + data + b"\n\n"
        if name is not None:
            payload = b"event: " + name.encode() + b"\n" + payload
        self.transport.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")

    def end_stream(self) -> None:
        """The last (empty) chunk of the stream."""
        assert self.transport is not None
        self.transport.write(b"0\r\n\r\n")


def retry_after_header(retry_after: float | None) -> str:
    """The ``Retry-After`` header line for ``send``'s ``extra``, or nothing."""
    return "" if retry_after is None else f"Retry-After: {retry_after:g}\r\n"
