"""The fake server's translator: a deterministic "Korean" rendering of a translation request.

A request whose system prompt starts with `koarena.translation.prompt.TRANSLATOR_MARKER` is a
translation: every English word of the user message becomes Hangul syllables derived from a
hash of the word, and everything else (mask tokens such as ``⟦3⟧``, digits, punctuation,
markdown, line breaks) is kept, so the reply passes the checks like a good translation would.
Faults turn it into the translator's typical failures:

- ``drop_mask``: the first mask token is left out (the item must fail, never be written);
- ``answer``: the prompt is answered instead of translated (a Korean markdown answer);
- ``english``: the message comes back untranslated;
- ``refuse``: a refusal in Korean.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from koarena.translation.prompt import TRANSLATOR_MARKER

REFUSAL = "죄송하지만 이 요청은 도와드릴 수 없습니다."

_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_TOKEN_RE = re.compile(r"[⟦⟪〘]\d+[⟧⟫〙]")


def is_translation(messages: list[dict[str, Any]]) -> bool:
    """Whether a conversation is a translation request."""
    return any(m.get("role") == "system" and str(m.get("content", "")).startswith(
        TRANSLATOR_MARKER) for m in messages)


def _hangul(word: str) -> str:
    d = hashlib.blake2b(word.lower().encode("utf-8"), digest_size=8).digest()
    n = max(1, min(4, (len(word) + 2) // 3))
    # Syllables from 가 (U+AC00) on, 11,172 of them.
    return "".join(chr(0xAC00 + int.from_bytes(d[2 * i:2 * i + 2], "big") % 11172)
                   for i in range(n))


def fake_translation(text: str) -> str:
    """``text`` with every English word replaced by Hangul; tokens and the rest kept.

    >>> fake_translation("Sort ⟦1⟧ by date, please.")
    '툀뛻 ⟦1⟧ 뚥 췲켷, 띭쁑.'

    """
    return _WORD_RE.sub(lambda m: _hangul(m.group(0)), text)


def faulty_translation(kind: str, text: str, answer: str) -> str:
    """The reply of translation fault ``kind`` to user message ``text``."""
    if kind == "drop_mask":
        return _TOKEN_RE.sub("", fake_translation(text), count=1)
    if kind == "answer":
        return answer
    if kind == "english":
        return text
    if kind == "refuse":
        return REFUSAL
    raise ValueError(f"not a translation fault: {kind}")
