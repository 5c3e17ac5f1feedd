"""The per-model page (full shared data) and the judges' texts loaded on demand (a small bench)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import Page

from koarena.bench import Bench
from koarena.clusters import cluster_win_rates, weakest
from koarena.controls import Control
from koarena.korean import korean_fidelity
from koarena.leaderboard import Leaderboard, compute_leaderboards
from koarena.report import build_report
from koarena.report.markdown import render_markdown

MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def boards(full_bench: Bench) -> dict[Control, Leaderboard]:
    return compute_leaderboards(full_bench, [Control.NONE, Control.STYLE], rounds=0)


def test_model_page_from_the_leaderboard(
    page: Page, full_site: Path, full_bench: Bench, boards: dict[Control, Leaderboard],
    artifacts: Path,
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(full_site.joinpath("index.html").as_uri())
    page.wait_for_selector("body[data-ready='1']")
    page.locator(f'#board tbody tr[data-model="{MODEL}"] a.model-page').click()
    page.wait_for_selector(f"body[data-model='{MODEL}']")
    assert page.url.endswith(f"model.html?model={MODEL}")
    assert page.inner_text("#model-name") == MODEL

    # scores: the leaderboard's, under each control, with the rank among all rows
    cells = page.locator("#score-table tbody tr[data-judge='ensemble'] td[data-control]")
    shown = dict(zip(cells.evaluate_all("cs => cs.map(c => c.dataset.control)"),
                     cells.all_inner_texts(), strict=True))
    for control, board in boards.items():
        rank = [r.model for r in board.rows].index(MODEL) + 1
        assert shown[control.value].startswith(f"{board.row(MODEL).score:.2f} (")
        assert shown[control.value].endswith(f" #{rank}")
    assert set(shown) == {"none", "style", "length", "markdown", "style+korean"}

    # Korean fidelity of its answers, against the baseline's
    baseline = boards[Control.NONE].baseline
    answers = {m: full_bench.load_answers(m) for m in (MODEL, baseline)}
    mine = next(f for f in korean_fidelity(answers, baseline=baseline) if f.model == MODEL)
    table = dict(zip(page.locator("#korean-table th").all_inner_texts(),
                     page.locator("#korean-table td").all_inner_texts(), strict=True))
    assert mine.mean_hangul_share is not None
    assert table["Mean Hangul share"].startswith(f"{100 * mine.mean_hangul_share:.1f}%")
    assert table["Not Korean"] == str(mine.not_korean)
    assert table["Drift (baseline answered in Korean)"] == str(
        mine.not_korean_where_baseline_korean
    )
    listed = page.locator("#not-korean a").all_inner_texts()
    assert listed == mine.not_korean_questions[:50]

    # weakest clusters: lowest win rate first, each a link into the browser
    cluster_of = {q.question_id: q.ko_cluster for q in full_bench.load_questions()}
    per = cluster_win_rates(boards[Control.NONE].battles, cluster_of)[MODEL]
    links = page.locator("#weakest .judge[data-judge='ensemble'] a")
    assert links.all_inner_texts() == [c for c, _ in weakest(per, 5)]
    # one judge: no agreement to show, and the page says why
    assert "needs at least two" in page.inner_text("#agreement-box")
    assert all(u.startswith("file://") for u in requests), requests
    page.screenshot(path=str(artifacts / "model.png"), full_page=True)

    links.first.click()
    page.wait_for_selector("body[data-ready='1'][data-question]")
    assert page.input_value("#model-select") == MODEL
    assert page.input_value("#cluster-select") == weakest(per, 1)[0][0]

    # the model switch and the URL
    page.goto(full_site.joinpath("model.html").as_uri() + "?model=o3-high")
    page.wait_for_selector("body[data-model='o3-high']")
    page.select_option("#model-select", MODEL)
    page.wait_for_selector(f"body[data-model='{MODEL}']")
    assert f"model={MODEL}" in page.url


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


EXPLANATION = "게임 {g}: **A** 가 낫다"
REASONING = ["먼저 `A` 를 본다", "다시 보니 *B*"]


@pytest.fixture(scope="module")
def text_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two judges with written explanations; j1 also kept its reasoning, on game 1 only. The
    model's two answers did not end on their own (cut off, filtered)."""
    root = tmp_path_factory.mktemp("text-data")
    bench = Bench(root, "texts")
    bench.root.mkdir()
    bench.judge_config_file.write_text("baseline_model: base\n", "utf-8")
    _write(bench.question_file, [
        {"question_id": q, "category": "c", "cluster": "c", "ko_cluster": "군", "turns": [q]}
        for q in ("q1", "q2")
    ])
    # m's answers: one cut off at the token limit, one stopped by a content filter
    finish = {("m", "q1"): "length", ("m", "q2"): "content_filter"}
    for model in ("base", "m"):
        _write(bench.answer_file(model), [
            {"question_id": q, "model_id": model, "choices": [{"turns": [
                {"content": f"{model} {q}", "finish_reason": finish.get((model, q), "stop")}
            ]}]}
            for q in ("q1", "q2")
        ])
    for judge in ("j1", "j2"):
        _write(bench.judgment_file(judge, "m"), [
            {"question_id": q, "model": "m", "judge": judge, "games": [
                {"score": "A>B", "judgment": EXPLANATION.format(g=1),
                 **({"judge_reasoning": REASONING} if judge == "j1" else {})},
                {"score": "B>A", "judgment": EXPLANATION.format(g=2)},
            ]}
            for q in ("q1", "q2")
        ])
    site = tmp_path_factory.mktemp("text-site")
    build_report(bench, site, rounds=0, workers=1)
    return site


def test_judge_texts_load_on_demand_and_reasoning_is_collapsed(
    page: Page, text_site: Path, artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(text_site.joinpath("browse.html").as_uri() + "?question=q2&model=m")
    page.wait_for_selector("body[data-question='q2']")
    boxes = page.locator("details.explanation-box")
    assert boxes.count() == 4  # two judges, two games
    assert all(not d.get_attribute("open") for d in boxes.all())
    # what the view downloaded: the index, the question and two answers, no judge text yet
    data = sorted(u.split("/data/", 1)[1].split("/")[0] for u in requests if "/data/" in u)
    assert data == ["a", "a", "index.js", "q"]

    j1 = page.locator(".judge[data-judge='j1'] .game[data-game='1']")
    j1.locator("details.explanation-box summary").click()
    explanation = j1.locator(".explanation")
    explanation.wait_for()
    assert explanation.inner_html() == render_markdown(EXPLANATION.format(g=1))
    assert sum("/data/j/" in u for u in requests) == 1
    reasoning = j1.locator("details.judge-reasoning")
    assert reasoning.locator("summary").inner_text() == "Judge's reasoning (2)"
    assert not reasoning.get_attribute("open")
    assert not reasoning.locator(".reasoning").first.is_visible()
    reasoning.locator("summary").click()
    assert reasoning.locator(".reasoning").all_inner_texts() == ["먼저 A 를 본다", "다시 보니 B"]
    assert reasoning.locator(".reasoning").first.inner_html() == render_markdown(REASONING[0])

    # game 2 of the same judge: the same shard, no new request; no reasoning kept there
    g2 = page.locator(".judge[data-judge='j1'] .game[data-game='2']")
    g2.locator("details.explanation-box summary").click()
    g2.locator(".explanation").wait_for()
    assert g2.locator("details.judge-reasoning").count() == 0
    assert sum("/data/j/" in u for u in requests) == 1
    # the other judge kept no reasoning at all
    j2 = page.locator(".judge[data-judge='j2'] .game[data-game='1']")
    j2.locator("details.explanation-box summary").click()
    j2.locator(".explanation").wait_for()
    assert j2.locator("details.judge-reasoning").count() == 0
    page.screenshot(path=str(artifacts / "browse-reasoning.png"), full_page=True)


def test_cut_off_and_filtered_answers_are_flagged_on_the_leaderboard(
    page: Page, text_site: Path
) -> None:
    page.goto(text_site.joinpath("index.html").as_uri())
    page.wait_for_selector("body[data-ready='1']")
    row = page.locator("#board tbody tr[data-model='m']")
    assert row.locator(".badge-truncated").inner_text() == "1 cut off"
    assert row.locator(".badge-filtered").inner_text() == "1 filtered"
    assert "token limit" in (row.locator(".badge-truncated").get_attribute("title") or "")
    base = page.locator("#board tbody tr[data-model='base']")
    assert base.locator(".badge-truncated, .badge-filtered").count() == 0
