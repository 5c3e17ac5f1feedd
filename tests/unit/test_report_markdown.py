"""The sanitiser of untrusted markdown: exact HTML for each kind of attack and for plain use."""

from __future__ import annotations

import pytest

from koarena.report.markdown import _cmark_html, render_markdown, sanitize_html

REL = 'rel="noopener noreferrer nofollow"'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("**굵게** 한국어", "<p><strong>굵게</strong> 한국어</p>\n"),
        ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
        ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
        ("<svg onload=alert(1)>", "<p>&lt;svg onload=alert(1)&gt;</p>\n"),
        ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
        ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>\n"),
        (
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "<p>[x](data:text/html;base64,PHNjcmlwdD4=)</p>\n",
        ),
        # relative links would point into the site itself
        ("[rel](/etc/passwd)", f"<p><a {REL}>rel</a></p>\n"),
        # images are never fetched: they become links, and a data: image loses its URL
        (
            "![cat](https://example.com/cat.png)",
            f'<p><a href="https://example.com/cat.png" {REL}>[image: cat]</a></p>\n',
        ),
        ("![p](data:image/png;base64,AAAA)", f"<p><a {REL}>[image: p]</a></p>\n"),
        (
            '[t](https://example.com "x\\" onmouseover=\\"alert(1)")',
            '<p><a href="https://example.com" title="x&quot; onmouseover=&quot;alert(1)" '
            f"{REL}>t</a></p>\n",
        ),
        (
            "```html\n<script>alert(1)</script>\n```",
            "<pre><code>&lt;script&gt;alert(1)&lt;/script&gt;\n</code></pre>\n",
        ),
        ("`<b onclick=alert(1)>`", "<p><code>&lt;b onclick=alert(1)&gt;</code></p>\n"),
        (
            "| a | b |\n|:-:|--:|\n| 1 | 2 |",
            "<table>\n<thead>\n<tr>\n<th align=\"center\">a</th>\n<th align=\"right\">b</th>\n"
            "</tr>\n</thead>\n<tbody>\n<tr>\n<td align=\"center\">1</td>\n"
            "<td align=\"right\">2</td>\n</tr>\n</tbody>\n</table>\n",
        ),
        ("3. a\n4. b", '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>\n'),
    ],
)
def test_render_markdown(text: str, expected: str) -> None:
    assert render_markdown(text) == expected


@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ('<a href="javascript:alert(1)" onclick="x()">x</a>', f"<a {REL}>x</a>"),
        ('<a href="https://ok.example/">ok</a>', f'<a href="https://ok.example/" {REL}>ok</a>'),
        ("<svg><script>alert(1)</script></svg>", ""),
        ("<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", ""),
        ('<p style="background:url(http://evil)" id="koarena-data" class="x">p</p>', "<p>p</p>"),
        ('<iframe src="https://evil"></iframe>ok', "ok"),
        ('<form action="https://evil"><input name=a></form>', ""),
        ('<table><tr><td align="left" onclick="x">c</td></tr></table>',
         '<table><tbody><tr><td align="left">c</td></tr></tbody></table>'),
        ('<table><tr><td align="javascript:x">c</td></tr></table>',
         "<table><tbody><tr><td>c</td></tr></tbody></table>"),
    ],
)
def test_sanitize_html(fragment: str, expected: str) -> None:
    assert sanitize_html(fragment) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a single tilde is the Korean range notation, only ``~~`` strikes
        ("3~6개월, 10~15시간", "<p>3~6개월, 10~15시간</p>\n"),
        ("~~취소~~", "<p><del>취소</del></p>\n"),
        # a tag outside code is kept as text, not dropped
        ("List<String> 타입", "<p>List&lt;String&gt; 타입</p>\n"),
        ("줄<br>바꿈", "<p>줄&lt;br&gt;바꿈</p>\n"),
        ("[x](file:///etc/passwd)", "<p>[x](file:///etc/passwd)</p>\n"),
        (
            '![a "b"](https://example.com/a.png "title")',
            f'<p><a href="https://example.com/a.png" {REL}>[image: a "b"]</a></p>\n',
        ),
        (
            "![](https://example.com/a.png)",
            f'<p><a href="https://example.com/a.png" {REL}>[image]</a></p>\n',
        ),
    ],
)
def test_render_markdown_keeps_text(text: str, expected: str) -> None:
    assert render_markdown(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**a** `b`", "<p><strong>a</strong> <code>b</code></p>\n"),
        (
            "![c](https://e.example/c.png)",
            '<p><a href="https://e.example/c.png">[image: c]</a></p>\n',
        ),
        ("<b>x</b>", None),
        ("[x](javascript:alert(1))", None),
        ("[x](vbscript:msgbox)", None),
    ],
)
def test_cmark_renders_unless_it_refused_something(text: str, expected: str | None) -> None:
    assert _cmark_html(text) == expected
