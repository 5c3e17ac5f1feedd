"""JSON embedded in pages and shard files cannot end the <script> element it sits in."""

from __future__ import annotations

from pathlib import Path

import orjson

from koarena.report.jsdata import script_json, shard_text, write_shard


def test_script_json_escapes_html_breakouts() -> None:
    assert script_json({"a": "</script><!--x-->&"}) == (
        '{"a":"\\u003c/script\\u003e\\u003c!--x--\\u003e\\u0026"}'
    )


def test_script_json_keeps_korean_and_escapes_line_separators() -> None:
    assert script_json(["한국어", "a\u2028b\u2029c"]) == '["한국어","a\\u2028b\\u2029c"]'


def test_script_json_round_trips() -> None:
    value = {"x": "</SCRIPT >", "y": [1, 2.5, None, True], "z": "<!-- -->"}
    assert orjson.loads(script_json(value)) == value


def test_shard_text() -> None:
    assert shard_text("q:1", {"html": "<p>a</p>"}) == (
        'koarenaShard("q:1",{"html":"\\u003cp\\u003ea\\u003c/p\\u003e"});\n'
    )


def test_write_shard(tmp_path: Path) -> None:
    path = tmp_path / "data" / "q" / "0001.js"
    size = write_shard(path, "k", ["</script>"])
    text = 'koarenaShard("k",["\\u003c/script\\u003e"]);\n'
    assert path.read_text("utf-8") == text
    assert size == len(text.encode("utf-8"))
    assert sorted(p.name for p in path.parent.iterdir()) == ["0001.js"]
