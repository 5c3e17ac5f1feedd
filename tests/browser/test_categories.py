"""A bench with categories (Arena-Hard v2.0) on the site: the leaderboard's category switch,
the browser's category filter, and the analysis page's validity metrics against a reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page
from scipy.stats import kendalltau, spearmanr

from koarena.bench import Bench
from koarena.controls import Control
from koarena.leaderboard import Leaderboard, compute_category_leaderboards
from koarena.report import build_report
from v2_bench import synthetic_questions, write_bench

BENCH = "syn-v2"
REFERENCE = {"m-one": 3.0, "m-two": 2.0, "m-three": 1.0, "base-h": 1.5}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    data = tmp_path_factory.mktemp("v2-site-data")
    write_bench(data / BENCH, synthetic_questions(), ["m-one", "m-two", "m-three"], seed=7)
    return Bench(data, BENCH)


@pytest.fixture(scope="module")
def site(bench: Bench, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("v2-site")
    reference = root / "ref.csv"
    reference.write_text(
        "model,score\n" + "".join(f"{m},{v}\n" for m, v in REFERENCE.items()), "utf-8")
    build_report(bench, root / "site", judges=["jx"], rounds=20, seed=1, workers=1,
                 reference=reference)
    return root / "site"


@pytest.fixture(scope="module")
def expected(bench: Bench) -> dict[str, Leaderboard]:
    boards = compute_category_leaderboards(bench, [Control.NONE], judges=["jx"], rounds=0)
    return {c: by_control[Control.NONE] for c, by_control in boards.items()}


def _open(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def _board(page: Page) -> dict[str, str]:
    models = page.locator("#board tbody tr").evaluate_all("rs => rs.map(r => r.dataset.model)")
    scores = page.locator("#board tbody td.score").all_inner_texts()
    return dict(zip(models, scores, strict=True))


def _scores(board: Leaderboard) -> dict[str, str]:
    return {r.model: f"{r.score:.2f}" for r in board.rows}


def test_leaderboard_category_switch(
    page: Page, site: Path, expected: dict[str, Leaderboard], artifacts: Path
) -> None:
    _open(page, site.joinpath("index.html").as_uri() + "?control=none")
    options = page.locator("#category-select option").all_inner_texts()
    assert options == ["hard_prompt", "creative_writing"]
    assert page.inner_text("#baseline-name") == "base-h"
    assert page.inner_text("#question-count") == "24"
    assert _board(page) == _scores(expected["hard_prompt"])
    page.select_option("#category-select", "creative_writing")
    assert page.inner_text("#baseline-name") == "base-c"
    assert page.inner_text("#question-count") == "16"
    assert _board(page) == _scores(expected["creative_writing"])
    assert "base-h" not in _board(page)
    assert page.locator("#board tr.baseline").get_attribute("data-model") == "base-c"
    page.screenshot(path=str(artifacts / "categories-leaderboard.png"), full_page=True)
    # the choice is in the URL: a reload shows the same category
    assert "category=creative_writing" in page.url
    _open(page, page.url)
    assert page.inner_text("#baseline-name") == "base-c"


def test_browser_category_filter(page: Page, site: Path) -> None:
    page.goto(site.joinpath("browse.html").as_uri() + "?model=m-one")
    page.wait_for_selector("body[data-model='m-one']")
    assert page.is_visible("#category-filter")

    def listed() -> list[str]:
        ids = page.locator("#question-list a").evaluate_all(
            "links => links.map(a => a.dataset.question)")
        return [str(i) for i in ids]

    assert len(listed()) == 40
    page.select_option("#category-select", "creative_writing")
    page.wait_for_function("() => document.querySelectorAll('#question-list a').length === 16")
    assert listed() == [f"c{i:03d}" for i in range(16)]
    # a creative question is shown beside the creative baseline's answer
    page.wait_for_selector("body[data-question='c000']")
    assert page.inner_text("#answer-baseline .name") == "base-c"
    page.select_option("#category-select", "hard_prompt")
    page.wait_for_function("() => document.querySelectorAll('#question-list a').length === 24")
    page.wait_for_selector("body[data-question='h000']")
    assert page.inner_text("#answer-baseline .name") == "base-h"


def test_analysis_page_reference_metrics(
    page: Page, site: Path, expected: dict[str, Leaderboard]
) -> None:
    """The analysis covers the first category; its correlations with the reference, computed
    here from the category's leaderboard with scipy, are on the page."""
    _open(page, site.joinpath("analysis.html").as_uri())
    row = page.locator("#separability-table tbody tr[data-row='none']")
    board = expected["hard_prompt"]
    models = sorted(REFERENCE)
    mine = [board.row(m).score for m in models]
    theirs = [REFERENCE[m] for m in models]
    assert row.locator("td.c-spearman").inner_text() == f"{spearmanr(mine, theirs).statistic:.3f}"
    assert row.locator("td.c-kendall").inner_text() == f"{kendalltau(mine, theirs).statistic:.3f}"
    for key in ("brier", "rank-brier", "agreement"):
        assert row.locator(f"td.c-{key}").inner_text() not in ("", "–")
