"""analysis.html on the full shared data: the tables show the numbers of `analyze()`."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
from playwright.sync_api import Page


@pytest.fixture(scope="module")
def expected(full_analysis: Any, full_site: Path) -> dict[str, Any]:
    """The analysis the site was built with (the session's `koarena analyze` on the same data,
    judges, bootstrap rounds and seed as the leaderboard page states)."""
    html = full_site.joinpath("index.html").read_text("utf-8")
    m = re.search(r'<script type="application/json" id="koarena-data">(.*?)</script>', html, re.S)
    assert m is not None
    built = orjson.loads(m.group(1))
    result: dict[str, Any] = full_analysis.result
    assert (built["rounds"], built["seed"]) == (result["separability"]["rounds"], result["seed"])
    assert built["judges"] == result["judges"]
    return result


def fixed(x: float | None, digits: int) -> str:
    """JavaScript's ``x.toFixed(digits)`` (ties away from zero on the exact binary value, where
    Python's format rounds ties to even), or the page's dash for a missing value."""
    if x is None:
        return "–"
    return str(Decimal(x).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def pct(x: float | None) -> str:
    return fixed(None if x is None else 100.0 * x, 1)


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def _rows(page: Page, table: str) -> list[str]:
    rows = page.locator(f"#{table} tbody tr").evaluate_all("rs => rs.map(r => r.dataset.row)")
    return [str(r) for r in rows]


def _column(page: Page, table: str, key: str) -> list[str]:
    return page.locator(f"#{table} tbody td.c-{key}").all_inner_texts()


def test_fixed() -> None:
    assert fixed(0.125, 2) == "0.13"  # exact tie in binary: up, as toFixed does
    assert fixed(12.25, 1) == "12.3"
    assert fixed(0.1 + 0.2, 1) == "0.3"
    assert fixed(None, 1) == "–"


def test_korean_fidelity_table(
    page: Page, full_site: Path, expected: dict[str, Any], artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open(page, full_site.joinpath("index.html").as_uri())
    page.click("header.top nav a[href='analysis.html']")
    page.wait_for_selector("body[data-ready='1']")
    assert page.url.endswith("/analysis.html")
    assert page.get_attribute("nav a[href='analysis.html']", "aria-current") == "page"

    rows = expected["korean_fidelity"]["models"]
    assert len(rows) == 76
    table = "korean-table"
    assert _rows(page, table) == [r["model"] for r in rows]
    assert _column(page, table, "rank") == [str(i) for i in range(1, 77)]
    assert _column(page, table, "scored") == [str(r["scored"]) for r in rows]
    assert _column(page, table, "hangul") == [pct(r["mean_hangul_share"]) for r in rows]
    assert _column(page, table, "raw") == [pct(r["mean_raw_hangul_share"]) for r in rows]
    assert _column(page, table, "not-korean") == [str(r["not_korean"]) for r in rows]
    assert _column(page, table, "drift") == [
        str(r["not_korean_where_baseline_korean"]) for r in rows
    ]
    assert _column(page, table, "intrusions") == [str(r["intrusions"]) for r in rows]
    assert _column(page, table, "intruded") == [str(r["answers_with_intrusions"]) for r in rows]
    for script in ("han", "kana", "cyrillic", "thai", "arabic", "hebrew", "devanagari"):
        assert _column(page, table, f"script-{script}") == [
            str(r["intrusions_by_script"].get(script, 0)) for r in rows
        ]
    # the numbers docs/analysis.md quotes
    first = page.locator(f"#{table} tbody tr").first
    assert first.locator("td.c-model").inner_text() == "llama-3.1-nemotron-70b-instruct"
    assert first.locator("td.c-hangul").inner_text() == "59.5"
    assert first.locator("td.c-drift").inner_text() == "140"
    assert first.locator("td.c-intrusions").inner_text() == "3542"
    baseline = page.locator(f"#{table} tbody tr[data-row='claude-3.7-sonnet'] td.c-model")
    assert baseline.locator(".badge-base").inner_text() == "baseline"
    assert baseline.locator("a").count() == 0  # the browser shows the baseline beside each model
    assert first.locator("td.c-model a").get_attribute("href") == (
        "browse.html?model=llama-3.1-nemotron-70b-instruct"
    )
    assert all(u.startswith("file://") for u in requests), requests
    page.screenshot(path=str(artifacts / "analysis.png"))
    page.screenshot(path=str(artifacts / "analysis-full.png"), full_page=True)


def test_korean_table_sorts(page: Page, full_site: Path, expected: dict[str, Any]) -> None:
    _open(page, full_site.joinpath("analysis.html").as_uri())
    rows = expected["korean_fidelity"]["models"]
    table = "korean-table"
    page.click(f"#{table} th[data-key=drift] button")
    drift = [int(x) for x in _column(page, table, "drift")]
    assert drift == sorted((r["not_korean_where_baseline_korean"] for r in rows), reverse=True)
    assert page.get_attribute(f"#{table} th[data-key=drift]", "aria-sort") == "descending"
    page.click(f"#{table} th[data-key=script-kana] button")
    page.click(f"#{table} th[data-key=script-kana] button")
    kana = [int(x) for x in _column(page, table, "script-kana")]
    assert kana == sorted(r["intrusions_by_script"].get("kana", 0) for r in rows)
    assert "sort=script-kana" in page.url and "dir=asc" in page.url
    # the URL alone restores the order
    shown = _rows(page, table)
    _open(page, page.url)
    assert _rows(page, table) == shown
    page.click(f"#{table} th[data-key=model] button")
    assert _rows(page, table) == page.evaluate(
        "ms => [...ms].sort((a, b) => a.localeCompare(b))", [r["model"] for r in rows]
    )
    page.click(f"#{table} th[data-key=rank] button")
    assert _rows(page, table) == [r["model"] for r in rows]


def test_separability_and_judges(page: Page, full_site: Path, expected: dict[str, Any]) -> None:
    _open(page, full_site.joinpath("analysis.html").as_uri())
    sep = expected["separability"]["controls"]
    assert list(sep) == ["none", "style"]
    assert _rows(page, "separability-table") == ["none", "style"]
    for key, field in (("models", "models"), ("pairs", "pairs"),
                       ("separated", "separated_pairs")):
        assert _column(page, "separability-table", key) == [str(sep[c][field]) for c in sep]
    assert _column(page, "separability-table", "separability") == [
        pct(sep[c]["separability"]) for c in sep
    ]

    (pos,) = expected["position_consistency"]["judges"]
    assert _rows(page, "positions-table") == ["ensemble"]
    assert [
        _column(page, "positions-table", k)[0]
        for k in ("judgments", "consistent", "exact", "first", "first-decisive")
    ] == [str(pos["judgments"]), pct(pos["consistency"]), pct(pos["exact_consistency"]),
          pct(pos["first_win_share"]), pct(pos["first_decisive_share"])]

    for section, key in (("agreement", "judge_agreement"), ("self-preference", "self_preference")):
        assert expected[key]["available"] is False
        note = page.locator(f"#{section} .unavailable")
        assert note.inner_text() == f"not available — {expected[key]['reason']}"
        assert page.locator(f"#{section} table").count() == 0


def test_weakest_clusters_link_to_the_browser(
    page: Page, full_site_url: str, expected: dict[str, Any]
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open(page, f"{full_site_url}/analysis.html")
    models = expected["clusters"]["models"]
    assert sorted(_rows(page, "clusters-table")) == sorted(models)
    row = page.locator("#clusters-table tbody tr[data-row='gpt-4o-mini']")
    weakest = models["gpt-4o-mini"]["weakest"]
    assert row.locator("td.c-lowest").inner_text() == fixed(weakest[0]["win_rate"], 1)
    links = row.locator("td.c-weakest a")
    assert links.all_inner_texts() == [
        f"{w['cluster']} {fixed(w['win_rate'], 1)}%" for w in weakest
    ]
    href = links.first.get_attribute("href")
    assert href is not None
    assert parse_qs(urlsplit(href).query) == {
        "model": ["gpt-4o-mini"], "cluster": [weakest[0]["cluster"]]
    }
    links.first.click()
    page.wait_for_selector("body[data-ready='1'][data-question]")
    assert page.input_value("#model-select") == "gpt-4o-mini"
    assert page.input_value("#cluster-select") == weakest[0]["cluster"]
    host = full_site_url + "/"
    assert all(u.startswith(host) for u in requests), requests
