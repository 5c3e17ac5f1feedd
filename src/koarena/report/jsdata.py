"""Data for the site's pages as JavaScript: inline JSON and lazily loaded shard files.

Browsers refuse ``fetch()`` of local files from a ``file://`` page, so the data the pages need
later is written as small ``.js`` files that call a loader function when a ``<script>`` element
brings them in; that works from ``file://`` and over HTTP alike.

Every JSON text written into a page or a shard passes through `script_json`, which escapes the
characters that could end a ``<script>`` element or open an HTML comment early (``<``, ``>``,
``&``) and the two line separators that older JavaScript parsers treat as line ends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson

SHARD_CALLBACK = "koarenaShard"
"""The global function a shard file calls: ``koarenaShard(key, data)``."""

_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def script_json(value: Any) -> str:
    """JSON of ``value`` that is safe inside an HTML ``<script>`` element and a ``.js`` file.

    >>> script_json({"a": "</script><!--"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003c!--"}'
    """
    text = orjson.dumps(value).decode("utf-8")
    # one str.replace per character: str.translate maps Korean text a character at a time
    # (14x slower on Korean answers: seconds of CPU over a cold build's 38,500 shards)
    for char, escape in _ESCAPES:
        text = text.replace(char, escape)
    return text


def shard_text(key: str, data: Any) -> str:
    """The text of a shard file: one call of the loader with the shard's key and data."""
    return f"{SHARD_CALLBACK}({script_json(key)},{script_json(data)});\n"


def write_shard(path: Path, key: str, data: Any) -> int:
    """Write a shard file atomically (a reader never sees half a file); returns its size."""
    text = shard_text(key, data).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(text)
    os.replace(tmp, path)
    return len(text)
