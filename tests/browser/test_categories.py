"""A bench with categories (Arena-Hard v2.0) on the site: the leaderboard's category switch,
the browser's category filter, and the analysis page's validity metrics against a reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

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
    # imported where used: scipy.stats takes 1 s to import, at every xdist worker's collection
    from scipy.stats import kendalltau, spearmanr

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


def _select_category(page: Page, name: str) -> None:
    page.select_option("#category-select", name)
    page.wait_for_selector(f"body[data-category='{name}']")


def test_model_page_category_switch(
    page: Page, site: Path, expected: dict[str, Leaderboard], artifacts: Path
) -> None:
    """Each category's scores, Korean fidelity and baseline on the model page, not only the
    first category's."""
    _open(page, site.joinpath("model.html").as_uri() + "?model=m-two")
    assert page.locator("#category-select option").all_inner_texts() == [
        "hard_prompt", "creative_writing"]

    def shown() -> tuple[str, str, str]:
        score = page.inner_text("#score-table td[data-control='none']")
        answers = page.locator("#korean-table tr", has_text="Answers scored").locator("td")
        return page.inner_text("#baseline-name"), score, answers.inner_text()

    for category, questions in (("hard_prompt", 24), ("creative_writing", 16)):
        if category != "hard_prompt":
            _select_category(page, category)
        baseline, score, answers = shown()
        board = expected[category]
        assert baseline == board.baseline
        assert score.startswith(f"{board.row('m-two').score:.2f} (")
        assert score.endswith(f" #{board.rank('m-two')}")
        assert answers.endswith(f" of {questions}")  # its questions only
        assert page.inner_text("#model-name") == "m-two"
    assert expected["hard_prompt"].row("m-two").score != expected["creative_writing"].row(
        "m-two").score
    page.screenshot(path=str(artifacts / "categories-model.png"), full_page=True)
    # the category is in the URL, and so is the model picked in it
    page.select_option("#model-select", "m-one")
    page.wait_for_selector("body[data-model='m-one']")
    assert "category=creative_writing" in page.url
    _open(page, page.url)
    shown_after = (page.inner_text("#baseline-name"), page.inner_text("#model-name"))
    assert shown_after == ("base-c", "m-one")


def test_analysis_page_category_switch(
    page: Page, site: Path, expected: dict[str, Leaderboard]
) -> None:
    """The analysis of each category: its baseline, its separability and its Korean
    fidelity, each against the category's own leaderboard."""
    from scipy.stats import spearmanr

    _open(page, site.joinpath("analysis.html").as_uri())
    assert page.locator("#category-select option").all_inner_texts() == [
        "hard_prompt", "creative_writing"]
    for category in ("hard_prompt", "creative_writing"):
        if category != "hard_prompt":
            _select_category(page, category)
        board = expected[category]
        assert page.inner_text("#baseline-name") == board.baseline
        row = page.locator("#separability-table tbody tr[data-row='none']")
        models = sorted(set(REFERENCE) & {r.model for r in board.rows})
        mine = [board.row(m).score for m in models]
        theirs = [REFERENCE[m] for m in models]
        assert row.locator("td.c-spearman").inner_text() == (
            f"{spearmanr(mine, theirs).statistic:.3f}")
        meta = page.inner_text("#korean .meta")
        assert meta.endswith(f"against the baseline {board.baseline}.")
        assert page.locator("#separability .section-body").count() == 1
    assert "category=creative_writing" in page.url
    _open(page, page.url)
    assert page.inner_text("#baseline-name") == "base-c"
