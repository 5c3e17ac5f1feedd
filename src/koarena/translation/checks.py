"""Quality checks of one translated turn against its source, stored with the record.

Every check reads the final texts (after the mask tokens were restored), so the same checks
also grade a translation made elsewhere (the Korean v0.1 set: tests run them over its 500
pairs). Prose means the text without its protected spans (`masking.prose`).

Flags (`TurnChecks.flags`):

- ``low_hangul``: fewer than `MIN_HANGUL_SHARE` of the prose's words contain Hangul (the reply
  stayed in English, or drifted into another language); lines copied verbatim from the source
  that are not English prose (unfenced code, data) are left out.
- ``english_left``: a sentence of the translation's prose is English prose (no Hangul, at least
  `MIN_ENGLISH_WORDS` words, function words among them): left untranslated.
- ``length_ratio``: the prose is much shorter or longer than the source's (Korean prose runs to
  about half the characters of English); only for sources with `MIN_RATIO_CHARS` characters of
  prose. A truncated reply or an added answer shows here.
- ``identity``: a code block, inline code, URL or math span differs between source and
  translation (with masking this cannot happen unless the restore step is bypassed).
- ``refusal``: the translator refused ("죄송하지만 … 도와드릴 수 없습니다", "I can't …")
  where the source has no apology of its own.
- ``answered``: the translator answered the prompt instead of translating it: the reply starts
  like an answer ("물론입니다", "Sure, here is …"), or adds markdown headers, list items or
  code blocks the source does not have.

The bounds were set on the Korean v0.1 set against its English source, where they flag few of
the 500 published translations (tests/unit/test_translation_checks.py keeps the count).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from koarena.korean import HANGUL_RE, is_code_line
from koarena.translation.masking import CODE, MATH, URL, Span, find_spans, prose

MIN_HANGUL_SHARE = 0.5
MIN_ENGLISH_WORDS = 6
MIN_RATIO_CHARS = 40
LENGTH_RATIO_BOUNDS = (0.25, 1.25)
IDENTITY_KINDS = (CODE, URL, MATH)

FLAGS = ("low_hangul", "english_left", "length_ratio", "identity", "refusal", "answered")
"""Every flag a check can raise, in report order."""

_LETTER_WORD_RE = re.compile(r"\S*[^\W\d_]\S*")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n+")
# Words that carry English grammar: a run of identifiers or a product list has few of them.
_FUNCTION_WORDS = frozenset(
    [
        "the", "a", "an", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were", "be",
        "been", "that", "this", "these", "those", "which", "who", "what", "how", "why", "when",
        "where", "it", "its", "you", "your", "we", "our", "they", "their", "them", "i", "my", "me",
        "he", "she", "his", "her", "and", "or", "but", "not", "no", "do", "does", "did", "can",
        "could", "will", "would", "should", "may", "might", "must", "have", "has", "had", "if",
        "then", "than", "so", "as", "at", "by", "from", "into", "about", "please",
    ]
)
_REFUSAL_RE = re.compile(
    r"죄송(?:하지만|합니다|해요)|도와\s?드릴 수 없|도움을 드릴 수 없|번역(?:해 드릴|할) 수 없|"
    r"제공할 수 없|응답할 수 없|I(?:'m| am) sorry|I (?:can(?:'|no)t|cannot|won't|am unable to)"
    r"|As an AI", re.IGNORECASE)
_SOURCE_APOLOGY_RE = re.compile(r"sorry|apolog|can(?:'|no)t|cannot|unable|refus|죄송",
                                re.IGNORECASE)
_ANSWER_OPENING_RE = re.compile(
    r"^\s*(?:물론(?:입니다|이죠|이에요)?[.!,]|네[,.!]\s|좋습니다[.!,]|알겠습니다[.!,]|"
    r"Sure\b|Certainly\b|Of course\b|Here(?:'s| is| are)\b|"
    r"(?:다음은|아래는|여기) [^\n]{0,30}(?:번역|답변|코드|해결|예시)[^\n]{0,10}(?:입니다|이에요)|"
    r"번역(?:문|본| 결과)?\s*[:：])",
    re.IGNORECASE)
# Unfenced code beyond `korean.is_code_line`: calls, and "#" comments (a markdown header left
# in English is still caught by the Hangul share).
_CODE_RE = re.compile(r"\w\(|^\s*#\s")
_HEADER_RE = re.compile(r"(?m)^#{1,6}\s")
_LIST_RE = re.compile(r"(?m)^\s*(?:[-*+]|\d+[.)])\s")
_FENCE_RE = re.compile(r"(?m)^\s*(?:```|~~~)")


@dataclass(frozen=True)
class TurnChecks:
    """The checks of one translated turn; ``flags`` names the ones that failed."""

    hangul_share: float | None
    english_sentences: list[str]
    length_ratio: float | None
    identity_mismatch: list[str]
    refusal: bool
    answered: bool
    flags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "hangul_share": None if self.hangul_share is None else round(self.hangul_share, 4),
            "english_sentences": list(self.english_sentences),
            "length_ratio": None if self.length_ratio is None else round(self.length_ratio, 4),
            "identity_mismatch": list(self.identity_mismatch),
            "refusal": self.refusal,
            "answered": self.answered,
            "flags": list(self.flags),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TurnChecks:
        return cls(
            hangul_share=d.get("hangul_share"),
            english_sentences=[str(s) for s in d.get("english_sentences", [])],
            length_ratio=d.get("length_ratio"),
            identity_mismatch=[str(s) for s in d.get("identity_mismatch", [])],
            refusal=bool(d.get("refusal", False)),
            answered=bool(d.get("answered", False)),
            flags=[str(f) for f in d.get("flags", [])],
        )


def hangul_share(text: str) -> float | None:
    """Share of the words (whitespace-separated, with a letter) that contain Hangul; None
    without words. Words, not letters: "Toolbar를" is Korean with an English term in it.

    >>> hangul_share("Fragment에 Toolbar를 추가하는 방법은? Thanks")
    0.8
    """
    words = _LETTER_WORD_RE.findall(text)
    if not words:
        return None
    return sum(1 for w in words if HANGUL_RE.search(w)) / len(words)


def _looks_like_code(sentence: str) -> bool:
    return is_code_line(sentence) or _CODE_RE.search(sentence) is not None


def english_sentences(text: str) -> list[str]:
    """Sentences of ``text`` that read as English prose: no Hangul, enough words, and
    function words among them (so that a list of identifiers or a title is not counted).

    >>> english_sentences("첫 문장입니다. Please make sure that the output is sorted by date.")
    ['Please make sure that the output is sorted by date.']
    """
    out = []
    for sentence in _SENTENCE_SPLIT_RE.split(text):
        s = sentence.strip()
        if not s or HANGUL_RE.search(s) or _looks_like_code(s):
            continue
        words = _LATIN_WORD_RE.findall(s)
        if len(words) < MIN_ENGLISH_WORDS:
            continue
        # Wider than `korean.is_english_prose` (which leaves out words that are also code
        # keywords): code lines are excluded above, and a prompt is mostly instructions.
        hits = sum(1 for w in words if w.lower() in _FUNCTION_WORDS)
        if hits >= 2 and hits >= 0.2 * len(words):
            out.append(s)
    return out


def _prose_chars(text: str) -> int:
    return len("".join(text.split()))


def length_ratio(source_prose: str, translation_prose: str) -> float | None:
    """Non-space characters of the translation's prose / the source's; None for short sources."""
    n = _prose_chars(source_prose)
    if n < MIN_RATIO_CHARS:
        return None
    return _prose_chars(translation_prose) / n


def _by_kind(spans: Iterable[Span], kinds: set[str]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {k: Counter() for k in kinds}
    for s in spans:
        if s.kind in kinds:
            out[s.kind][s.text] += 1
    return out


def identity_mismatch(source: str, translation: str, kinds: Iterable[str] = IDENTITY_KINDS,
                      spans: tuple[list[Span], list[Span]] | None = None) -> list[str]:
    """The kinds of protected span whose texts differ (as multisets) between the two;
    ``spans`` are both texts' `find_spans` when the caller has them already."""
    wanted = set(kinds)
    src, dst = spans or (find_spans(source), find_spans(translation))
    a, b = _by_kind(src, wanted), _by_kind(dst, wanted)
    return sorted(k for k in wanted if a[k] != b[k])


def is_refusal(source: str, translation: str) -> bool:
    """The translator refused: a refusal phrase the source does not account for."""
    return (_REFUSAL_RE.search(translation) is not None
            and _SOURCE_APOLOGY_RE.search(source) is None)


def _structure(text: str) -> tuple[int, int, int]:
    return (len(_HEADER_RE.findall(text)), len(_LIST_RE.findall(text)),
            len(_FENCE_RE.findall(text)))


def is_answer(source: str, translation: str) -> bool:
    """The translator answered instead of translating: an answer's opening phrase that the
    source does not start with, or headers, list items (2 or more) or code fences the source
    does not have."""
    if _ANSWER_OPENING_RE.search(translation) and not _ANSWER_OPENING_RE.search(source):
        return True
    sh, sl, sf = _structure(source)
    th, tl, tf = _structure(translation)
    return th > sh or tl >= sl + 2 or tf > sf


def _translatable(source_prose: str, translation_prose: str) -> str:
    """The translation's prose without lines copied verbatim from the source that are not
    English prose (unfenced code, data, identifiers are kept as they are, rightly); all of it
    when nothing was translated."""
    if translation_prose.strip() == source_prose.strip():
        return translation_prose
    kept = {ln.strip() for ln in source_prose.splitlines() if ln.strip()}
    return "\n".join(ln for ln in translation_prose.splitlines()
                     if ln.strip() not in kept or english_sentences(ln))


def check_turn(source: str, translation: str) -> TurnChecks:
    """All checks of one translated turn."""
    spans = find_spans(source), find_spans(translation)
    src_prose = prose(source, spans[0])
    dst_prose = prose(translation, spans[1])
    share = hangul_share(_translatable(src_prose, dst_prose))
    english = english_sentences(dst_prose)
    ratio = length_ratio(src_prose, dst_prose)
    mismatch = identity_mismatch(source, translation, spans=spans)
    refusal = is_refusal(source, translation)
    answered = is_answer(source, translation)
    flags = []
    # A source with no prose letters (a bare code block) has nothing to translate.
    if share is not None and share < MIN_HANGUL_SHARE and hangul_share(src_prose) is not None:
        flags.append("low_hangul")
    if english:
        flags.append("english_left")
    lo, hi = LENGTH_RATIO_BOUNDS
    if ratio is not None and not lo <= ratio <= hi:
        flags.append("length_ratio")
    if mismatch:
        flags.append("identity")
    if refusal:
        flags.append("refusal")
    if answered:
        flags.append("answered")
    return TurnChecks(share, english, ratio, mismatch, refusal, answered, flags)


def item_flags(turns: Iterable[TurnChecks]) -> list[str]:
    """The flags of an item: any turn's, in `FLAGS` order."""
    raised = {f for t in turns for f in t.flags}
    return [f for f in FLAGS if f in raised]
