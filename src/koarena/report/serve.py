"""A local HTTP server for a report site (loopback only: the site is for the user at hand).

It serves the site's files and nothing else: no directory listings, no hidden files, nothing
reached through a symbolic link (which could point anywhere on the machine), and a malformed
path (a NUL byte) is a 404 rather than a traceback.
"""

from __future__ import annotations

import errno
import functools
import io
import logging
import os
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from koarena.errors import ConfigError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"


class _Handler(SimpleHTTPRequestHandler):
    def guess_type(self, path: str | os.PathLike[str]) -> str:
        # The site's pages and shards hold Korean text: say it is UTF-8.
        kind = super().guess_type(path)
        return f"{kind}; charset=utf-8" if kind.startswith("text/") else kind

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def send_head(self) -> Any:
        if not self._allowed(self.translate_path(self.path)):
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> io.BytesIO | None:
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

    def _allowed(self, path: str) -> bool:
        """Whether ``path`` (from `translate_path`) is a plain file or directory of the site:
        no NUL byte, no component hidden or a symbolic link."""
        if "\x00" in path:
            return False
        rel = os.path.relpath(path, self.directory)
        if rel == ".":
            return True
        current = self.directory
        for part in rel.split(os.sep):
            if part.startswith("."):
                return False
            current = os.path.join(current, part)
            if os.path.islink(current):
                return False
        return True


def make_server(directory: Path, port: int) -> ThreadingHTTPServer:
    """A server of ``directory`` bound to 127.0.0.1:``port``; call ``serve_forever`` on it.
    A port out of range or already taken is a one-line `ConfigError`."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, got {port}")
    handler = functools.partial(_Handler, directory=str(directory))
    try:
        return ThreadingHTTPServer((HOST, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {HOST} is already in use (choose another with "
                              "--port, or 0 for any free port)") from exc
        raise ConfigError(f"cannot serve on {HOST}:{port} ({exc.strerror})") from exc
