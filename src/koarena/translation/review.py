"""``--review``: a static side-by-side page (source | translation | checks) of a translated
bench, for a person to read the flagged items before the bench is used.

Both texts are rendered from markdown and sanitised with the report site's renderer
(`koarena.report.markdown`), so a prompt with ``<script>`` in it shows as text. The page runs
no script and loads nothing; its Content-Security-Policy allows only its own style block.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from koarena.bench import Bench
from koarena.outfile import atomic_open
from koarena.report.markdown import render_markdown
from koarena.translation.checks import FLAGS
from koarena.translation.items import SourceItem, TranslationInfo
from koarena.translation.stage import flag_summary, load_source, load_target

REVIEW_FILE = "translation_review.html"

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5rem;line-height:1.45;color:#1b1b1b}"
    "table{border-collapse:collapse;width:100%;table-layout:fixed}"
    "th,td{border:1px solid #ccc;padding:.5rem;vertical-align:top;overflow-wrap:anywhere}"
    "td.checks{width:16rem}th:nth-child(3){width:16rem}"
    "pre{white-space:pre-wrap;background:#f5f5f5;padding:.4rem}"
    ".flag{background:#b00020;color:#fff;border-radius:3px;padding:0 .35rem;margin-left:.3rem;"
    "font-size:.8rem}"
    ".item{margin-bottom:2rem}.flagged>h2{color:#b00020}.cat,.meta{color:#666;font-size:.85rem}"
    "dl{display:grid;grid-template-columns:auto auto;gap:.1rem .6rem;margin:0}dd{margin:0}"
)


@dataclass(frozen=True)
class ReviewPage:
    path: Path
    items: int


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _rows(source: Bench, target: Bench, only_flagged: bool) -> list[dict[str, Any]]:
    records = load_target(target.question_file)
    rows = []
    for item in load_source(source):
        rec = records.get(item.key)
        info = TranslationInfo.from_record(rec) if rec is not None else None
        if rec is None or info is None or (only_flagged and not info.flags):
            continue
        translated = SourceItem.from_record(rec, str(target.question_file)).turns
        turns = []
        for i, (src, dst) in enumerate(zip(item.turns, translated, strict=True)):
            c = info.checks[i] if i < len(info.checks) else None
            turns.append({
                "source": Markup(render_markdown(src)),
                "translation": Markup(render_markdown(dst)),
                "hangul_share": _fmt(c.hangul_share if c else None),
                "length_ratio": _fmt(c.length_ratio if c else None),
                "identity_mismatch": c.identity_mismatch if c else [],
                "refusal": bool(c and c.refusal),
                "answered": bool(c and c.answered),
                "english_sentences": c.english_sentences if c else [],
            })
        rows.append({"key": item.key, "category": "/".join(dict.fromkeys(
            x for x in (item.category, str(item.record.get("subcategory", ""))) if x)),
            "flags": info.flags, "translator": info.translator,
            "requests": info.requests, "turns": turns})
    return rows


def write_review(source: Bench, target: Bench, path: Path | None = None,
                 only_flagged: bool = False) -> ReviewPage:
    """Write the review page (default ``<target>/translation_review.html``)."""
    out = path or target.root / REVIEW_FILE
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("koarena.translation", "templates"),
        autoescape=True, undefined=jinja2.StrictUndefined)
    summary = flag_summary(source, target)
    style_hash = "sha256-" + base64.b64encode(
        hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii")
    rows = _rows(source, target, only_flagged)
    html = env.get_template("review.html").render(
        source=source.name, target=target.name, rows=rows, only_flagged=only_flagged,
        summary={"source": summary.source, "translated": summary.translated,
                 "flagged": summary.flagged,
                 "by_flag": [(f, summary.by_flag[f]) for f in FLAGS if summary.by_flag[f]]},
        style=Markup(_STYLE), style_hash=style_hash)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(out) as fh:
        fh.write(html)
    return ReviewPage(out, len(rows))
