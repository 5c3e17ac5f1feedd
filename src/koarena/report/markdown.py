"""Untrusted markdown (model answers, judge explanations) → sanitised HTML, at build time.

Two layers, so that a gap in one is caught by the other. The parser never passes raw HTML
through and refuses ``javascript:``/``vbscript:``/``file:``/``data:`` links: cmark-gfm (C, via
cmarkgfm, several times faster than markdown-it-py) renders almost every answer in its safe
mode. Where it had to omit raw HTML or blank a URL, the text is rendered again by markdown-it-py
with raw HTML off, which shows any ``<tag>`` as escaped text (a model writing ``List<String>``
or ``<br>`` outside code keeps its words) and leaves a refused link as its markdown text; ~2% of
the answers of the shared data take that path. nh3 (the Rust ``ammonia`` sanitiser) then keeps
only an allow-list of tags and attributes, drops every ``on*`` handler, ``style``, ``id`` and
``class`` (no CSS tricks, no DOM clobbering), and keeps only ``http``/``https``/``mailto`` URLs
(no ``data:``, no relative paths into the site).

Images are never embedded: a markdown image becomes a link to it, because the site must not
request anything from another host while it is read.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s",
        "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# ``~~`` only: a single tilde is the Korean range notation (``3~6개월``), never a strike.
_CMARK_OPTIONS = Options.CMARK_OPT_STRIKETHROUGH_DOUBLE_TILDE
_CMARK_EXTENSIONS = ("table", "strikethrough")
# What cmark-gfm's safe mode writes instead of raw HTML and of a refused (or empty) URL.
_CMARK_REFUSED = ("<!-- raw HTML omitted -->", 'href=""', 'src=""')
# cmark-gfm's image: URL and alt text already escaped, alt as plain text.
_CMARK_IMAGE = re.compile(r'<img src="([^"]*)" alt="([^"]*)"(?: title="[^"]*")? />')
_ALIGN = {"text-align:left": "left", "text-align:center": "center", "text-align:right": "right"}


def _image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    label = html.escape(f"[image: {alt}]" if alt else "[image]")
    return f'<a href="{html.escape(src, quote=True)}">{label}</a>'


def _table_align(state: StateCore) -> None:
    # markdown-it writes column alignment as a style attribute, which the sanitiser drops and
    # the site's Content-Security-Policy would block; the align attribute survives both.
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            if isinstance(style, str) and style in _ALIGN:
                token.attrs["align"] = _ALIGN[style]


@functools.cache
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _image_as_link)
    md.core.ruler.push("koarena_table_align", _table_align)
    return md


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={"a": {"href", "title"}, "ol": {"start"}},
        tag_attribute_values={
            "th": {"align": {"left", "center", "right"}},
            "td": {"align": {"left", "center", "right"}},
        },
        url_schemes=set(URL_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
    )


def sanitize_html(fragment: str) -> str:
    """Keep only the allow-listed tags, attributes and URL schemes of an HTML fragment."""
    return str(_cleaner().clean(fragment))


def _cmark_image_as_link(match: re.Match[str]) -> str:
    src, alt = match.groups()
    return f'<a href="{src}">{f"[image: {alt}]" if alt else "[image]"}</a>'


def _cmark_html(text: str) -> str | None:
    """cmark-gfm's HTML of ``text``, or None where markdown-it-py must render it instead."""
    out: str = cmarkgfm.markdown_to_html_with_extensions(
        text, options=_CMARK_OPTIONS, extensions=_CMARK_EXTENSIONS
    )
    if any(mark in out for mark in _CMARK_REFUSED):
        return None
    return _CMARK_IMAGE.sub(_cmark_image_as_link, out)


def render_markdown(text: str) -> str:
    """Render untrusted markdown to an HTML fragment that is safe to insert into a page."""
    if not text:
        return ""
    fast = _cmark_html(text)
    return sanitize_html(_markdown().render(text) if fast is None else fast)
