"""What a translation must not touch, found and swapped for tokens before the request.

A translator model is asked nicely to leave code alone, and sometimes does not: it translates a
comment, "fixes" a URL, localises ``3.5 kg`` to ``3,5 kg``. So every span that must survive byte
for byte is cut out before the request and replaced by a numbered token (``⟦1⟧``); the reply
must give back every token exactly once, and the spans are pasted back. A reply that lost,
duplicated, invented or mangled a token raises `MaskError`: it is a failed translation, never
written.

Spans, in priority order (a span inside an earlier one is part of it): fenced code, display
math (``$$…$$``, ``\\[…\\]``, ``\\begin{env}…\\end{env}``), inline code, inline math
(``\\(…\\)``, ``$…$`` with Pandoc's rule so that prices stay prose), URLs and e-mail
addresses, LaTeX commands in prose (``\\textit{…}``), placeholders (``{name}``, ``{{name}}``,
``${VAR}``, ``<tag>``, ``%s``, ``[NAME]``), file paths, and numbers with their unit or currency.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from koarena.errors import KoarenaError

CODE = "code"
MATH = "math"
URL = "url"
PATH = "path"
PLACEHOLDER = "placeholder"
NUMBER = "number"

# Block spans sit on lines of their own in markdown; a reply that glued one to a sentence is
# repaired on restore so that the fence still renders as a fence.
_BLOCK_KINDS = frozenset({CODE, MATH})

_EXTENSIONS = (
    "py|pyc|ipynb|js|mjs|cjs|ts|tsx|jsx|java|kt|kts|scala|c|h|cc|cpp|hpp|cs|go|rs|rb|php|swift|"
    "m|mm|lua|r|pl|sh|bash|zsh|ps1|bat|cmd|sql|json|jsonl|yaml|yml|toml|ini|cfg|conf|env|xml|"
    "html|htm|css|scss|sass|less|vue|svelte|md|rst|txt|csv|tsv|log|pdf|doc|docx|xls|xlsx|xlsm|"
    "ppt|pptx|png|jpg|jpeg|gif|svg|webp|bmp|ico|mp3|mp4|wav|flac|avi|mov|mkv|zip|tar|gz|tgz|"
    "bz2|xz|7z|rar|exe|dll|so|dylib|jar|war|apk|iso|img|dmg|db|sqlite|parquet|pkl|pt|pth|onnx|"
    "h5|npy|npz|gguf|safetensors|ckpt|bin|dat|lock|tf|tfvars|gradle|sln|csproj|vcxproj|proto|"
    "graphql|ino|asm|s|v|sv|vhd|vhdl|dart|ex|exs|erl|hs|ml|clj|fs|groovy|nim|zig|sol"
)
# Units written after a space must not be ordinary words ("5 in the list", "3 A grades").
_SPACED_UNITS = (
    "%|°C|°F|℃|kg|mg|µg|km|cm|mm|µm|nm|mi|ft|lb|lbs|oz|ml|mL|ms|µs|ns|min|hrs|Hz|kHz|MHz|GHz|"
    "KB|MB|GB|TB|PB|KiB|MiB|GiB|TiB|kB|Kb|Mb|Gb|bps|kbps|Mbps|Gbps|kW|MW|GW|kWh|MWh|mV|kV|mA|"
    "mAh|Ω|kΩ|px|pt|rem|dpi|fps|rpm|mph|kph|km/h|m/s|USD|EUR|KRW|GBP|JPY|°"
)
# Ordinals ("30th") are words to translate, not numbers with a unit.
_ATTACHED_UNITS = _SPACED_UNITS + "|(?!(?:st|nd|rd|th)(?![\\w]))[a-zA-Zµ]{1,3}"

# (kind, pattern); the order is the priority.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (CODE, re.compile(r"(`{3,}|~{3,})[\s\S]*?(?:\1|\Z)")),
    (MATH, re.compile(r"\$\$[\s\S]+?\$\$|\\\[[\s\S]+?\\\]|\\begin\{([A-Za-z]+\*?)\}[\s\S]*?"
                      r"\\end\{\1\}")),
    (CODE, re.compile(r"``[^`\n]+?``|`[^`\n]+`")),
    (MATH, re.compile(r"\\\([\s\S]+?\\\)|\$(?=[^\s$])[^$\n]+?(?<=[^\s\\])\$(?!\d)")),
    (URL, re.compile(r"(?:https?|ftp|file|wss?|s3|gs)://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]"
                     r"|www\.[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]}]"
                     r"|(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    (MATH, re.compile(r"(?<![\w:\\])\\[A-Za-z]{2,}(?:\[[^\[\]\n]*\])?(?:\{[^{}\n]*\})*")),
    (PLACEHOLDER, re.compile(r"\{\{[^{}\n]{1,80}\}\}|\$\{[^{}\n]{1,80}\}"
                             r"|\{(?:[A-Za-z_][\w.]{0,40}|\d{0,2})(?::[^{}\n]{0,20})?\}"
                             r"|</?[A-Za-z][\w:.-]{0,40}(?:\s+[\w:.-]+(?:=(?:\"[^\"\n]*\""
                             r"|'[^'\n]*'|[^\s>]+))?)*\s*/?>"
                             r"|%(?:\d+\$)?[-+ 0#]?\d*(?:\.\d+)?[sdifgxXoec]\b"
                             r"|\[[A-Z][A-Z0-9_]{1,40}\]")),
    (PATH, re.compile(r"(?<![\w])[A-Za-z]:\\[^\s\"'<>|]*[^\s\"'<>|.,;:!?)]"
                      r"|(?<![\w.~/\\])(?:~|\.\.?)?/[\w.@+-]+(?:/[\w.@+-]+)*/?(?<![.,;:!?])"
                      r"|(?<![\w./])[\w.@+-]+(?:/[\w.@+-]+)+\.(?:" + _EXTENSIONS + r")(?![\w/])"
                      r"|(?<![\w./-])\.?[\w-]+(?:\.[\w-]+)*\.(?:" + _EXTENSIONS + r")(?![\w/-])"
                      r"|(?<![\w.])\.(?:env|gitignore|bashrc|zshrc|vimrc|npmrc|dockerignore)\b")),
    (NUMBER, re.compile(r"(?<![\w.,])[-−+]?[$€£¥₩]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?"
                        r"(?:(?:\s?(?:" + _SPACED_UNITS + r"))(?![\w])"
                        r"|(?:" + _ATTACHED_UNITS + r")(?![\w]))?(?![\w])")),
]

# Token brackets, in order of preference; a text that already uses a pair gets the next one.
_BRACKETS = (("⟦", "⟧"), ("⟪", "⟫"), ("〘", "〙"))


class MaskError(KoarenaError):
    """A reply did not give back its mask tokens exactly once each."""

    def __init__(self, missing: list[int], duplicated: list[int], unknown: list[str],
                 stray: int) -> None:
        parts = []
        if missing:
            parts.append(f"missing tokens {missing}")
        if duplicated:
            parts.append(f"duplicated tokens {duplicated}")
        if unknown:
            parts.append(f"unknown tokens {unknown}")
        if stray:
            parts.append(f"{stray} mangled token brackets")
        super().__init__("; ".join(parts))
        self.missing = missing
        self.duplicated = duplicated
        self.unknown = unknown
        self.stray = stray


@dataclass(frozen=True)
class Span:
    """A protected piece of text: its kind and its exact characters."""

    kind: str
    text: str
    start: int
    end: int


def find_spans(text: str) -> list[Span]:
    """The protected spans of ``text``, in text order, none overlapping.

    >>> [(s.kind, s.text) for s in find_spans("Run `ls -l` on /tmp (3.5 GB) {name}")]
    [('code', '`ls -l`'), ('path', '/tmp'), ('number', '3.5 GB'), ('placeholder', '{name}')]
    """
    # One byte per character: is it inside an accepted span (prompts have thousands of numbers).
    taken = bytearray(len(text))
    spans: list[Span] = []
    for kind, rx in _PATTERNS:
        for m in rx.finditer(text):
            start, end = m.span()
            if start == end or 1 in taken[start:end]:
                continue
            taken[start:end] = b"\x01" * (end - start)
            spans.append(Span(kind, m.group(0), start, end))
    spans.sort(key=lambda s: s.start)
    return spans


def prose(text: str, spans: list[Span] | None = None) -> str:
    """``text`` with every protected span replaced by a space: what a translator translates.
    ``spans`` are ``find_spans(text)`` when the caller has them already."""
    out: list[str] = []
    pos = 0
    for s in find_spans(text) if spans is None else spans:
        out.append(text[pos:s.start])
        out.append(" ")
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


@dataclass(frozen=True)
class Masked:
    """A text with its protected spans replaced by numbered tokens ``⟦1⟧``, ``⟦2⟧``, …"""

    source: str
    text: str
    spans: tuple[Span, ...]
    open: str = _BRACKETS[0][0]
    close: str = _BRACKETS[0][1]

    def token(self, i: int) -> str:
        """The token of span number ``i`` (1-based)."""
        return f"{self.open}{i}{self.close}"

    @property
    def tokens(self) -> list[str]:
        return [self.token(i) for i in range(1, len(self.spans) + 1)]

    def restore(self, reply: str) -> str:
        """Put the spans back into a translated ``reply``; `MaskError` if a token is off."""
        token_re = re.compile(re.escape(self.open) + r"(\d+)" + re.escape(self.close))
        found = Counter(m.group(1) for m in token_re.finditer(reply))
        n = len(self.spans)
        wanted = {str(i) for i in range(1, n + 1)}
        missing = sorted(int(i) for i in wanted if found[i] == 0)
        duplicated = sorted(int(i) for i in wanted if found[i] > 1)
        unknown = sorted(self.open + k + self.close for k in found if k not in wanted)
        rest = token_re.sub("", reply)
        stray = rest.count(self.open) + rest.count(self.close)
        if missing or duplicated or unknown or stray:
            raise MaskError(missing, duplicated, unknown, stray)

        def put_back(m: re.Match[str]) -> str:
            span = self.spans[int(m.group(1)) - 1]
            text = span.text
            if span.kind in _BLOCK_KINDS and "\n" in text:
                if self._own_line_before(span) and m.start() > 0 and reply[m.start() - 1] != "\n":
                    text = "\n" + text
                if self._own_line_after(span) and m.end() < len(reply) \
                        and reply[m.end()] != "\n":
                    text += "\n"
            return text

        return token_re.sub(put_back, reply)

    def _own_line_before(self, span: Span) -> bool:
        return span.start == 0 or self.source[span.start - 1] == "\n"

    def _own_line_after(self, span: Span) -> bool:
        return span.end == len(self.source) or self.source[span.end] == "\n"


def mask(text: str) -> Masked:
    """Replace the protected spans of ``text`` by tokens.

    >>> m = mask("Print `x` to out.txt")
    >>> m.text
    'Print ⟦1⟧ to ⟦2⟧'
    >>> m.restore("⟦2⟧에 ⟦1⟧을 출력해 줘")
    'out.txt에 `x`을 출력해 줘'
    """
    open_, close = next(((o, c) for o, c in _BRACKETS if o not in text and c not in text),
                        _BRACKETS[-1])
    if open_ in text or close in text:
        raise MaskError([], [], [], text.count(open_) + text.count(close))
    spans = find_spans(text)
    out: list[str] = []
    pos = 0
    for i, s in enumerate(spans, 1):
        out.append(text[pos:s.start])
        out.append(f"{open_}{i}{close}")
        pos = s.end
    out.append(text[pos:])
    return Masked(source=text, text="".join(out), spans=tuple(spans), open=open_, close=close)
