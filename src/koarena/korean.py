"""Korean fidelity: how much of an answer is written in Korean, and where other scripts intrude.

The judge prompt of Ko-Arena-Hard penalises answers that are not in Korean and code-switching
inside Korean text, but a win rate cannot show which models do it. Per answer we measure, on
the prose only (fenced and inline code, URLs and math removed, because code and formulas are
legitimately written in Latin script):

- the Hangul share: Hangul letters / prose letters (``str.isalpha``; digits and punctuation are
  not letters). An answer with no letters left has no share.
- whether the answer is primarily Korean: at least a threshold (0.5 by default) of its prose
  words contain Hangul (words, not letters: see `ScriptProfile.primarily_korean`).
- foreign-script intrusions: maximal runs of Han, kana, Cyrillic, Thai, Arabic, Hebrew or
  Devanagari characters on a line that also contains Hangul. Latin is not counted (English terms
  are ordinary in Korean technical writing; the share captures answers drifting into English),
  nor is Greek (math symbols).

Per answer (`script_profile`, `hangul_share_feature`: the style-control covariate) and per model
(`korean_fidelity`: the leaderboard's Korean columns and the analysis page).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from koarena.records import Answer

DEFAULT_THRESHOLD = 0.5
"""An answer is primarily Korean when at least this share of its prose words contain Hangul."""

_HANGUL = (
    "\u1100-\u11ff"  # Jamo
    "\u3130-\u318f"  # compatibility Jamo
    "\ua960-\ua97f"  # Jamo extended A
    "\uac00-\ud7a3"  # syllables
    "\ud7b0-\ud7ff"  # Jamo extended B
)
HANGUL_RE = re.compile(f"[{_HANGUL}]")
"""One Hangul letter (syllable or jamo): what makes a word or a line Korean."""
_HANGUL_RUN_RE = re.compile(f"[{_HANGUL}]+")

FOREIGN_SCRIPTS: dict[str, str] = {
    "han": "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f",
    "kana": "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "cyrillic": "\u0400-\u052f",
    "thai": "\u0e00-\u0e7f",
    "arabic": "\u0600-\u06ff",
    "hebrew": "\u0590-\u05ff",
    "devanagari": "\u0900-\u097f",
}
"""Scripts whose appearance inside Korean prose counts as an intrusion, as character ranges."""

_FOREIGN_RES = {name: re.compile(f"[{ranges}]+") for name, ranges in FOREIGN_SCRIPTS.items()}
# One search for any foreign script first: most Korean lines have none (3x faster scan).
_ANY_FOREIGN_RE = re.compile("[" + "".join(FOREIGN_SCRIPTS.values()) + "]")

# Each pattern with the marks it cannot match without: a pattern is skipped when none of its
# marks is in the text (most answers have no math, many no code or URL). The order matters: a
# fence may contain backticks, dollars and URLs; inline code may contain dollars. An
# unterminated fence runs to the end of the text, as markdown renders it.
_STRIP_RES: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(r"(```|~~~)[\s\S]*?(?:\1|\Z)"), ("```", "~~~")),
    (re.compile(r"`[^`\n]+`"), ("`",)),
    (re.compile(r"\$\$[\s\S]+?\$\$"), ("$$",)),
    (re.compile(r"\\\[[\s\S]+?\\\]"), ("\\[",)),
    (re.compile(r"\\\([\s\S]+?\\\)"), ("\\(",)),
    # Pandoc's inline-math rule, so that prices like "$5와 $10" stay prose.
    (re.compile(r"\$(?=\S)[^$\n]+?(?<=\S)\$(?!\d)"), ("$",)),
    (re.compile(r"(?:https?|ftp)://\S+|www\.\S+"), ("://", "www.")),
]


def strip_non_prose(text: str) -> str:
    """``text`` without fenced code, inline code, math and URLs (each replaced by a space).

    >>> strip_non_prose("코드 `x = 1` 와 $a+b$ 그리고 https://example.com 끝")
    '코드   와   그리고   끝'
    """
    for rx, marks in _STRIP_RES:
        if any(m in text for m in marks):
            text = rx.sub(" ", text)
    return text


_LETTER_RUN_RE = re.compile(r"[^\W\d_]+")
# Whitespace-separated words (as str.split) that contain a letter / a Hangul letter: one
# match per such word, from its first (Hangul) letter to its end. (Matching from the word's
# start, ``\S*[...]\S*``, counts the same words 2-4 times slower: every word is scanned
# back and forth.)
_LETTER_WORD_RE = re.compile(r"[^\W\d_]\S*")
_HANGUL_WORD_RE = re.compile(f"[{_HANGUL}]\\S*")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_NON_LATIN_LETTER_RE = re.compile(r"[^\W\d_A-Za-z\u00c0-\u024f]")

# Frequent English function words that are not keywords of common programming languages, so
# that a line of unfenced code ("Dim amount As Decimal", "SELECT * FROM t ORDER BY x") is not
# taken for English prose. Some models (o1, o3) write code without markdown fences.
_ENGLISH_WORDS = frozenset(
    [
        "the",
        "of",
        "to",
        "are",
        "was",
        "were",
        "been",
        "being",
        "that",
        "which",
        "who",
        "will",
        "would",
        "could",
        "should",
        "can",
        "may",
        "might",
        "you",
        "your",
        "we",
        "our",
        "they",
        "their",
        "them",
        "there",
        "here",
        "has",
        "have",
        "had",
        "does",
        "did",
        "about",
        "into",
        "over",
        "after",
        "before",
        "how",
        "what",
        "when",
        "where",
        "why",
        "also",
        "more",
        "most",
        "than",
        "these",
        "those",
        "such",
        "very",
        "only",
        "just",
        "because",
        "however",
        "therefore",
        "following",
        "below",
        "above",
        "each",
        "other",
        "any",
        "some",
        "many",
        "much",
    ]
)


# Strong signs of a line of unfenced code: statement ends, comment starts, operators and shell
# prompts that prose does not use. Markdown headers ("# ...") and bullets are prose. As one
# regular expression: r"[;{}]\s*$|\):\s*$|^\s*(?://|/\*|\*/|--\s|\$\s|>>>\s)|::|->|=>|
# \s=\s|[=!<>+\-*/]=|\w\.\w+\(", which `is_code_line` tests part by part (2.5x faster: string
# methods for the fixed parts, the two patterns only on lines with "=" or "(").
_CODE_ENDS = (";", "{", "}", "):")
_CODE_STARTS = ("//", "/*", "*/")
_CODE_STARTS_SPACED = ("--", "$", ">>>")  # followed by whitespace
_CODE_INFIXES = ("::", "->", "=>")
_ASSIGNMENT_RE = re.compile(r"\s=\s|[=!<>+\-*/]=")
_METHOD_CALL_RE = re.compile(r"\w\.\w+\(")


def is_code_line(line: str) -> bool:
    """A line that looks like unfenced code (o1/o3 answers often have no fences).

    >>> is_code_line('    let query = args.next().expect("검색어가 필요합니다.");')
    True
    >>> is_code_line("SCIM(스킴) 서버를 구현합니다.")
    False
    """
    if line.rstrip().endswith(_CODE_ENDS):
        return True
    head = line.lstrip()
    if head.startswith(_CODE_STARTS) or any(
        head.startswith(m) and head[len(m):len(m) + 1].isspace() for m in _CODE_STARTS_SPACED
    ):
        return True
    if any(m in line for m in _CODE_INFIXES):
        return True
    if "=" in line and _ASSIGNMENT_RE.search(line):
        return True
    return "(" in line and _METHOD_CALL_RE.search(line) is not None


def is_english_prose(line: str) -> bool:
    """A line without Hangul that reads as English prose rather than code.

    At least two function words, making up at least a fifth of its words.

    >>> is_english_prose("This example shows how to set up the router.")
    True
    >>> is_english_prose("Dim amount As Decimal")
    False
    """
    words = _LATIN_WORD_RE.findall(line)
    hits = sum(1 for w in words if w.lower() in _ENGLISH_WORDS)
    return hits >= 2 and hits >= 0.2 * len(words)


@dataclass(frozen=True)
class ScriptProfile:
    """Letter counts of one answer's prose.

    ``letters`` counts the letters of prose lines: lines with Hangul, lines with letters of a
    non-Latin script, and Latin-only lines that read as English prose. Other Latin-only lines
    are taken for identifiers or headings and left out; of a line that looks like unfenced code
    only its Hangul (Korean comments and strings) counts. ``raw_letters`` counts every letter
    outside fenced/inline code, math and URLs. ``words`` and ``korean_words`` count the
    whitespace-separated words with letters of the same prose, and those with Hangul.
    """

    letters: int
    hangul: int
    raw_letters: int
    words: int
    korean_words: int
    intrusions: dict[str, int] = field(default_factory=dict)

    @property
    def hangul_share(self) -> float | None:
        """Hangul letters / prose letters, or None when the answer has no prose letters."""
        return self.hangul / self.letters if self.letters else None

    @property
    def raw_hangul_share(self) -> float | None:
        """Hangul letters / all letters outside code, math and URLs."""
        return self.hangul / self.raw_letters if self.raw_letters else None

    @property
    def n_intrusions(self) -> int:
        return sum(self.intrusions.values())

    @property
    def korean_word_share(self) -> float | None:
        """Words with Hangul / prose words, or None when the answer has no prose words."""
        return self.korean_words / self.words if self.words else None

    def primarily_korean(self, threshold: float = DEFAULT_THRESHOLD) -> bool | None:
        """Whether at least ``threshold`` of the prose words are Korean.

        Decided on words, not letters: a Hangul syllable carries what takes two or three Latin
        letters, so a Korean sentence full of English technical terms can have fewer Hangul
        than Latin letters and still be Korean.
        """
        share = self.korean_word_share
        return None if share is None else share >= threshold


def script_profile(text: str) -> ScriptProfile:
    """Hangul share and foreign-script intrusions of ``text``.

    >>> p = script_profile("안녕하세요 hello 世界 です\\nint main() { return 0; }")
    >>> (p.letters, p.hangul, p.raw_letters, p.words, p.korean_words, p.intrusions)
    (14, 5, 27, 4, 1, {'han': 1, 'kana': 1})
    """
    letters = hangul = raw_letters = words = korean_words = 0
    intrusions: Counter[str] = Counter()
    for line in strip_non_prose(text).splitlines():
        # letters counted by runs: a list of words, not of characters (30% faster)
        n = sum(map(len, _LETTER_RUN_RE.findall(line)))
        if not n:
            continue
        raw_letters += n
        h = sum(map(len, _HANGUL_RUN_RE.findall(line))) if HANGUL_RE.search(line) else 0
        hangul += h
        code = is_code_line(line)
        if h:
            k = len(_HANGUL_WORD_RE.findall(line))
            korean_words += k
            words += k if code else len(_LETTER_WORD_RE.findall(line))
            letters += h if code else n
            if not code and _ANY_FOREIGN_RE.search(line):
                for name, rx in _FOREIGN_RES.items():
                    runs = len(rx.findall(line))
                    if runs:
                        intrusions[name] += runs
        elif not code and (_NON_LATIN_LETTER_RE.search(line) or is_english_prose(line)):
            letters += n
            words += len(_LETTER_WORD_RE.findall(line))
    return ScriptProfile(
        letters=letters,
        hangul=hangul,
        raw_letters=raw_letters,
        words=words,
        korean_words=korean_words,
        intrusions=dict(intrusions),
    )


def answer_text(answer: Answer) -> str:
    """All assistant turns of an answer (reasoning excluded): a drift in any turn counts."""
    return "\n".join(answer.turns)


@dataclass(frozen=True)
class ProfiledAnswer(Answer):
    """An answer profiled ahead of time, whose text may have been left behind.

    The report profiles each answer once, where it renders it, and caches the profile; the
    leaderboard and the analysis then take these in place of the full answers. ``failed`` and
    ``empty`` stand for the flags of the text; the text itself is kept only where ``meta`` is
    missing (style control then counts its markdown). ``finish_reasons`` and the record's
    ``finish_policy`` are kept, so that cut-off and filtered answers count as in `Answer`.
    """

    profile: ScriptProfile = field(default_factory=lambda: ScriptProfile(0, 0, 0, 0, 0))
    failed: bool = False
    empty: bool = False

    @property
    def is_failure_marker(self) -> bool:
        return self.failed

    @property
    def is_empty(self) -> bool:
        return self.empty


def answer_profile(answer: Answer) -> ScriptProfile:
    """The script profile of an answer's text (`script_profile` of `answer_text`)."""
    if isinstance(answer, ProfiledAnswer):
        return answer.profile
    return script_profile(answer_text(answer))


def hangul_share_feature(answer: Answer) -> float:
    """The Hangul share of an answer in percent, for use as a style-control covariate.

    An answer without prose letters (only code, say) has not drifted out of Korean: 100.
    """
    share = answer_profile(answer).hangul_share
    return 100.0 if share is None else 100.0 * share


@dataclass
class ModelFidelity:
    """Korean fidelity of one model's answers.

    ``mean_hangul_share`` averages the per-answer shares (each answer counts once);
    ``not_korean`` counts answers below the threshold, ``not_korean_where_baseline_korean`` those
    of them whose question the baseline answered primarily in Korean (so the prompt did not ask
    for another language).
    """

    model: str
    answers: int
    scored: int
    failed: int
    empty: int
    mean_hangul_share: float | None
    mean_raw_hangul_share: float | None
    min_hangul_share: float | None
    not_korean: int
    not_korean_where_baseline_korean: int | None
    intrusions: int
    answers_with_intrusions: int
    intrusions_by_script: dict[str, int]
    not_korean_questions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_fidelity(
    model: str,
    answers: Mapping[str, Answer],
    *,
    baseline_korean: Mapping[str, bool] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> ModelFidelity:
    """Aggregate the profiles of one model's answers (keyed by question id).

    Failed (``$ERROR$``) and empty answers are counted but not scored.
    """
    shares: list[float] = []
    raw_shares: list[float] = []
    not_korean: list[str] = []
    intrusions: Counter[str] = Counter()
    with_intrusions = failed = empty = 0
    for qid in sorted(answers):
        a = answers[qid]
        if a.is_failure_marker:
            failed += 1
            continue
        if a.is_empty:
            empty += 1
            continue
        prof = answer_profile(a)
        if prof.hangul_share is not None:
            shares.append(prof.hangul_share)
        if prof.raw_hangul_share is not None:
            raw_shares.append(prof.raw_hangul_share)
        if prof.primarily_korean(threshold) is False:
            not_korean.append(qid)
        if prof.n_intrusions:
            with_intrusions += 1
            intrusions.update(prof.intrusions)
    drift: int | None = None
    if baseline_korean is not None:
        drift = sum(1 for q in not_korean if baseline_korean.get(q, False))
    return ModelFidelity(
        model=model,
        answers=len(answers),
        scored=len(shares),
        failed=failed,
        empty=empty,
        mean_hangul_share=sum(shares) / len(shares) if shares else None,
        mean_raw_hangul_share=sum(raw_shares) / len(raw_shares) if raw_shares else None,
        min_hangul_share=min(shares) if shares else None,
        not_korean=len(not_korean),
        not_korean_where_baseline_korean=drift,
        intrusions=sum(intrusions.values()),
        answers_with_intrusions=with_intrusions,
        intrusions_by_script=dict(sorted(intrusions.items())),
        not_korean_questions=not_korean,
    )


def korean_fidelity(
    answers: Mapping[str, Mapping[str, Answer]],
    *,
    baseline: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[ModelFidelity]:
    """Korean fidelity of every model, worst (lowest mean Hangul share) first."""
    baseline_korean: dict[str, bool] | None = None
    if baseline is not None and baseline in answers:
        baseline_korean = {
            qid: bool(answer_profile(a).primarily_korean(threshold))
            for qid, a in answers[baseline].items()
            if not a.is_failure_marker and not a.is_empty
        }
    out = [
        model_fidelity(m, by_q, baseline_korean=baseline_korean, threshold=threshold)
        for m, by_q in answers.items()
    ]
    out.sort(
        key=lambda f: (f.mean_hangul_share if f.mean_hangul_share is not None else -1.0, f.model)
    )
    return out
