"""What the aiohttp providers share: one session per endpoint, the POST, and the mapping of
transport failures and HTTP statuses to `ProviderError`s.

aiohttp rather than the vendors' SDKs because client CPU per request decides throughput at high
``parallel`` on a small machine: measured 0.25 ms per request against 1.8–2.5 ms for the SDK
(see docs/benchmarks.md). A provider subclasses `HttpProvider` and keeps only what is its API's
own: URL, key header, request body, response parsing, streaming format, error body.
"""

from __future__ import annotations

import email.utils
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
import orjson

from koarena.config import Endpoint, ModelEndpoint
from koarena.providers.base import (
    FatalError,
    ProviderError,
    RateLimitError,
    TransientError,
    scrub,
)

_T = TypeVar("_T")

SSE_END = object()
"""What `HttpProvider._sse_events` yields for the data line that ends a stream."""


def parse_retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_member(raw: bytes) -> Any:
    """The ``error`` member of a JSON object body, or None when the body is anything else."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return data.get("error") if isinstance(data, dict) else None


class HttpProvider(ABC):
    """One endpoint of one model over one aiohttp session. Create inside a running event loop;
    `aclose` when done."""

    def __init__(self, model: ModelEndpoint, endpoint: Endpoint, url: str,
                 headers: Mapping[str, str] | None = None) -> None:
        self.model = model
        self.endpoint = endpoint
        self.url = url
        self._secret = endpoint.api_key.reveal() if endpoint.api_key is not None else ""
        all_headers = {"Content-Type": "application/json", "Accept": "application/json",
                       **(headers or {})}
        if self._secret:
            all_headers.update(self._key_headers(self._secret))
        self._session = aiohttp.ClientSession(
            headers=all_headers,
            # Plain-http endpoints (local servers) skip building a TLS context: loading the
            # system CA store costs ~40 ms of CPU at start, paid while requests wait.
            connector=aiohttp.TCPConnector(
                limit=model.parallel, ttl_dns_cache=300,
                ssl=not endpoint.api_base.startswith("http://")),
            timeout=aiohttp.ClientTimeout(total=model.timeout),
        )

    @abstractmethod
    def _key_headers(self, key: str) -> dict[str, str]:
        """The headers that carry the API key, in this API's scheme."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model.name!r}, {self.endpoint.api_base!r})"

    async def aclose(self) -> None:
        """Close the session and its connections."""
        await self._session.close()

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secret)

    def _where(self) -> str:
        return f"{self.model.name} at {self.endpoint.api_base}"

    async def _post(self, body: dict[str, Any],
                    read: Callable[[aiohttp.ClientResponse], Awaitable[_T]]) -> _T:
        """POST ``body`` and return ``read(response)`` of a 200 response. Any other status
        raises `_http_error`; timeouts, cut-off bodies and failed connections are transient."""
        return await self._send("POST", self.url, read, orjson.dumps(body))

    async def _send(self, method: str, url: str,
                    read: Callable[[aiohttp.ClientResponse], Awaitable[_T]],
                    data: Any = None, headers: Mapping[str, str] | None = None) -> _T:
        """`_post`, for any method and URL of this endpoint (the batch APIs' routes);
        ``headers`` override the session's (a multipart upload's content type)."""
        try:
            async with self._session.request(method, url, data=data, headers=headers) as resp:
                if resp.status != 200:
                    raise self._http_error(resp.status, await resp.read(), resp.headers)
                return await read(resp)
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TransientError(
                f"{self._where()}: no response within {self.model.timeout:g} s") from exc
        except aiohttp.ClientPayloadError as exc:
            raise TransientError(f"{self._where()}: response cut off ({type(exc).__name__})"
                                 ) from exc
        except aiohttp.ClientConnectionError as exc:
            raise TransientError(
                f"{self._where()}: connection failed ({type(exc).__name__})") from exc

    async def _post_json(self, body: dict[str, Any]) -> Any:
        """POST ``body`` and return the parsed JSON of the 200 response."""
        return self._json(await self._post(body, aiohttp.ClientResponse.read))

    def _json(self, raw: bytes) -> Any:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise TransientError(f"{self._where()}: response is not JSON") from exc

    async def _sse_events(self, resp: aiohttp.ClientResponse,
                          end: bytes | None = None) -> AsyncIterator[Any]:
        """The parsed JSON of each ``data:`` line of a server-sent event stream (``event:``
        lines only repeat what the data says), then `SSE_END` if a data line is ``end``
        (OpenAI's ``[DONE]``): nothing after it is read. A line that is not JSON is
        transient: the stream was mangled on the way."""
        async for line in resp.content:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if end is not None and payload == end:
                yield SSE_END
                return
            try:
                event = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise TransientError(f"{self._where()}: malformed stream event") from exc
            yield event

    def _cut_off(self) -> TransientError:
        """The error for a stream that ended before the answer did (worth another try)."""
        return TransientError(f"{self._where()}: stream ended before the answer was complete")

    def _http_error(self, status: int, raw: bytes, headers: Any) -> ProviderError:
        """The error for a non-200 response: the body's ``error.message`` if it has one, else
        the body itself."""
        err = error_member(raw)
        if isinstance(err, dict) and err.get("message"):
            message = str(err["message"])
        else:
            message = raw.decode("utf-8", "replace")
        return self._error(status, message, parse_retry_after(headers))

    def _error(self, status: int, message: str, retry_after: float | None) -> ProviderError:
        """429 is a rate limit, 5xx and 408 are transient, any other status is fatal; the
        message is the provider's, scrubbed of the key."""
        text = f"{self._where()}: HTTP {status}: {self._scrub(message.strip())}"
        if status == 429:
            return RateLimitError(text, retry_after)
        if status >= 500 or status == 408:
            return TransientError(text, retry_after)
        return FatalError(text)
