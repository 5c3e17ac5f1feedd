"""index.html on the full shared data: rows, order, sorting, control switch, chart, clusters."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

from koarena.bench import Bench
from koarena.clusters import cluster_win_rates
from koarena.controls import Control
from koarena.leaderboard import Leaderboard

PUBLISHED = {"o3-high": "87.29", "gemma-3-27b-it": "45.14", "gpt-4o-mini": "10.45",
             "llama-3.1-8b-instruct": "0.79", "claude-3.7-sonnet": "50.00"}
"""No control: the published table's values."""
STYLE = {"o3-high": "87.43", "gemma-3-27b-it": "19.79", "gpt-4o-mini": "11.43",
         "claude-3.7-sonnet": "50.00"}
"""Style control, the page's default: the exact optimum of the published objective."""


@pytest.fixture(scope="module")
def expected(full_boards: dict[Control, Leaderboard]) -> dict[Control, Leaderboard]:
    """Point estimates from the leaderboard module: the session's whole-data leaderboards,
    style+korean among them (point estimates do not depend on the bootstrap rounds)."""
    assert Control.STYLE_KOREAN in full_boards
    return full_boards


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def _column(page: Page, cls: str) -> list[str]:
    return page.locator(f"#board tbody td.{cls}").all_inner_texts()


def _models(page: Page) -> list[str]:
    models = page.locator("#board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.model)")
    return [str(m) for m in models]


def test_rows_and_order(
    page: Page, full_site: Path, expected: dict[Control, Leaderboard], artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    _open(page, full_site.joinpath("index.html").as_uri())
    assert page.is_checked("input[name=control][value=style]")
    board = expected[Control.STYLE]
    assert len(board.rows) == 76
    assert _models(page) == [r.model for r in board.rows]
    assert _column(page, "score") == [f"{r.score:.2f}" for r in board.rows]
    assert _column(page, "rank") == [str(i) for i in range(1, 77)]
    assert _column(page, "tokens") == [str(r.avg_tokens) for r in board.rows]
    scores = dict(zip(_models(page), _column(page, "score"), strict=True))
    assert {m: scores[m] for m in STYLE} == STYLE
    assert _models(page)[0] == "o3-high"
    # data-problem badges: the 26 $ERROR$ answers of one model
    row = page.locator('#board tbody tr[data-model="gemini-2.0-pro-exp-02-05"]')
    assert row.locator(".badge-failed").inner_text() == "26 failed"
    # the CI chart: one dot and one interval per model
    assert page.locator("#chart-box svg circle.dot").count() == 76
    assert page.locator("#chart-box svg line.ci").count() == 76
    assert all(u.startswith("file://") for u in requests), requests
    page.screenshot(path=str(artifacts / "leaderboard.png"))
    page.locator("#chart").screenshot(path=str(artifacts / "leaderboard-chart.png"))


def test_hangul_font(page: Page, full_site: Path) -> None:
    _open(page, full_site.joinpath("index.html").as_uri())
    family = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Noto Sans CJK KR"')
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK KR\"', '한국어')")


def test_sorting(page: Page, full_site: Path, expected: dict[Control, Leaderboard]) -> None:
    _open(page, full_site.joinpath("index.html").as_uri())
    rows = expected[Control.STYLE].rows
    page.click("#board th[data-key=avg_tokens] button")
    tokens = [int(t) for t in _column(page, "tokens")]
    assert tokens == sorted((r.avg_tokens for r in rows), reverse=True)
    assert page.get_attribute("#board th[data-key=avg_tokens]", "aria-sort") == "descending"
    page.click("#board th[data-key=avg_tokens] button")
    assert [int(t) for t in _column(page, "tokens")] == sorted(r.avg_tokens for r in rows)
    assert "sort=avg_tokens" in page.url and "dir=asc" in page.url
    # ranks stay those of the score order whatever the sort
    by_model = dict(zip(_models(page), _column(page, "rank"), strict=True))
    assert by_model == {r.model: str(i + 1) for i, r in enumerate(rows)}
    page.click("#board th[data-key=model] button")
    models = _models(page)
    assert models == page.evaluate(
        "ms => [...ms].sort((a, b) => a.localeCompare(b))", [r.model for r in rows]
    )
    page.click("#board th[data-key=rank] button")
    assert _models(page) == [r.model for r in rows]


@pytest.mark.parametrize(
    "control", [Control.NONE, Control.LENGTH, Control.MARKDOWN, Control.STYLE_KOREAN]
)
def test_control_switch(
    page: Page, full_site: Path, expected: dict[Control, Leaderboard], control: Control,
    artifacts: Path,
) -> None:
    _open(page, full_site.joinpath("index.html").as_uri())
    page.check(f'input[name=control][value="{control.value}"]')
    board = expected[control]
    assert _models(page) == [r.model for r in board.rows]
    assert _column(page, "score") == [f"{r.score:.2f}" for r in board.rows]
    assert _models(page) != [r.model for r in expected[Control.STYLE].rows]
    assert f"control={quote(control.value, safe='')}" in page.url
    # the URL alone restores the view
    _open(page, page.url)
    assert page.is_checked(f'input[name=control][value="{control.value}"]')
    assert _column(page, "score") == [f"{r.score:.2f}" for r in board.rows]
    if control is Control.NONE:
        scores = dict(zip(_models(page), _column(page, "score"), strict=True))
        assert {m: scores[m] for m in PUBLISHED} == PUBLISHED
        page.screenshot(path=str(artifacts / "leaderboard-none.png"))


def test_cluster_view(
    page: Page, full_site: Path, full_bench: Bench, expected: dict[Control, Leaderboard],
    artifacts: Path,
) -> None:
    _open(page, full_site.joinpath("index.html").as_uri() + "?cmodel=gpt-4o-mini")
    assert page.input_value("#cluster-model") == "gpt-4o-mini"
    cluster_of = {q.question_id: q.ko_cluster for q in full_bench.load_questions()}
    stats = cluster_win_rates(expected[Control.NONE].battles, cluster_of)["gpt-4o-mini"]
    want = sorted(((round(s.win_rate * 100, 1), c) for c, s in stats.items()), reverse=True)
    rows = page.locator("#cluster-table tbody tr")
    assert rows.count() == 250
    shown = [
        (float(rate.split()[-1]), name)
        for name, rate in zip(
            rows.locator("td:first-child").all_inner_texts(),
            rows.locator("td.rate").all_inner_texts(),
            strict=True,
        )
    ]
    assert [r for r, _ in shown] == [r for r, _ in want]
    assert sorted(shown) == sorted(want)
    page.locator("#clusters").screenshot(path=str(artifacts / "leaderboard-clusters.png"))


def test_index_page_size(full_site: Path) -> None:
    html = (full_site / "index.html").read_text("utf-8")
    loads = set(re.findall(r'(?:src|href)="(assets/[^"]+)"', html))  # what the index loads
    assert {"assets/report.css", "assets/common.js", "assets/leaderboard.js"} <= loads
    size = len(html.encode("utf-8")) + sum((full_site / a).stat().st_size for a in loads)
    assert size <= 2_000_000
