"""Untrusted markdown (model answers, judge explanations) → sanitised HTML, at build time.

Two layers, so that a gap in one is caught by the other. markdown-it-py parses with raw HTML
turned off (any ``<tag>`` in the text comes out as escaped text, also inside code blocks and link
titles) and refuses ``javascript:``/``vbscript:``/``file:`` links. nh3 (the Rust ``ammonia``
sanitiser) then keeps only an allow-list of tags and attributes, drops every ``on*`` handler,
``style``, ``id`` and ``class`` (no CSS tricks, no DOM clobbering), and keeps only
``http``/``https``/``mailto`` URLs (no ``data:``, no relative paths into the site).

Images are never embedded: a markdown image becomes a link to it, because the site must not
request anything from another host while it is read.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Sequence

import nh3
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


def render_markdown(text: str) -> str:
    """Render untrusted markdown to an HTML fragment that is safe to insert into a page."""
    if not text:
        return ""
    return sanitize_html(_markdown().render(text))
