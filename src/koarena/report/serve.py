"""A local HTTP server for a report site (loopback only: the site is for the user at hand)."""

from __future__ import annotations

import functools
import logging
import os
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        # The site's pages and shards hold Korean text: say it is UTF-8.
        kind = super().guess_type(path)
        return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


def make_server(directory: Path, port: int) -> ThreadingHTTPServer:
    """A server of ``directory`` bound to 127.0.0.1:``port``; call ``serve_forever`` on it."""
    handler = functools.partial(_Handler, directory=str(directory))
    return ThreadingHTTPServer((HOST, port), handler)
