"""browse.html on the full shared data: the right question, answers and verdicts; navigation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from koarena.bench import Bench
from koarena.records import Answer, Judgment, Question
from koarena.report.markdown import render_markdown
from koarena.verdicts import DEFAULT_WEIGHT, Winner, game_outcome

BASELINE = "claude-3.7-sonnet"
MODEL = "gpt-4o-mini"
JUDGE = "ensemble"


@pytest.fixture(scope="module")
def questions(full_bench: Bench) -> list[Question]:
    return full_bench.load_questions()


@pytest.fixture(scope="module")
def answers(full_bench: Bench) -> dict[str, dict[str, Answer]]:
    return {m: full_bench.load_answers(m) for m in (BASELINE, MODEL, "o3-high")}


@pytest.fixture(scope="module")
def judgments(full_bench: Bench) -> dict[str, Judgment]:
    return {j.question_id: j for j in full_bench.load_judgments(JUDGE, MODEL)}


def _wait(page: Page, question: str, model: str) -> None:
    page.wait_for_selector(f"body[data-question='{question}'][data-model='{model}']")


def _listed(page: Page) -> list[str]:
    ids = page.locator("#question-list a").evaluate_all(
        "links => links.map(a => a.dataset.question)"
    )
    return [str(i) for i in ids]


def _check_view(
    page: Page, q: Question, model: str, answers: dict[str, dict[str, Answer]],
    judgment: Judgment,
) -> None:
    assert page.inner_text("#question-id") == q.question_id
    assert page.inner_text("#question-cluster") == q.ko_cluster
    assert page.inner_html("#question-text > div") == render_markdown(q.turns[0])
    assert page.inner_text("#answer-baseline .name") == BASELINE
    assert page.inner_html("#answer-baseline .md") == render_markdown(
        answers[BASELINE][q.question_id].text
    )
    assert page.inner_text("#answer-model .name") == model
    assert page.inner_html("#answer-model .md") == render_markdown(
        answers[model][q.question_id].text
    )
    judge = page.locator(f".judge[data-judge='{JUDGE}']")
    labels = [judge.locator(f".game[data-game='{i}'] .label").inner_text() for i in (1, 2)]
    assert labels == [g.score if g is not None else "—" for g in judgment.games[:2]]


def test_question_and_model_view(
    page: Page, full_site_url: str, questions: list[Question],
    answers: dict[str, dict[str, Answer]], judgments: dict[str, Judgment], artifacts: Path,
) -> None:
    # a question where the model's answer has a code block and the baseline's a table
    q = next(
        q for q in questions
        if "<pre>" in render_markdown(answers[MODEL][q.question_id].text)
        and "<table>" in render_markdown(answers["o3-high"][q.question_id].text)
    )
    page.goto(f"{full_site_url}/browse.html?question={q.question_id}&model={MODEL}")
    _wait(page, q.question_id, MODEL)
    _check_view(page, q, MODEL, answers, judgments[q.question_id])
    assert page.locator("#answer-model .md pre code").count() >= 1
    page.screenshot(path=str(artifacts / "browse.png"))
    page.select_option("#model-select", "o3-high")
    _wait(page, q.question_id, "o3-high")
    assert page.locator("#answer-model .md table").count() >= 1


def test_navigation_and_model_switch(
    page: Page, full_site: Path, questions: list[Question],
    answers: dict[str, dict[str, Answer]], judgments: dict[str, Judgment],
) -> None:
    # from file://, where the shards can only arrive as <script> files
    q0, q1 = questions[0], questions[1]
    page.goto(full_site.joinpath("browse.html").as_uri() + f"?model={MODEL}")
    _wait(page, q0.question_id, MODEL)
    assert page.inner_text("#position") == "1 / 500"
    page.click("#next")
    _wait(page, q1.question_id, MODEL)
    _check_view(page, q1, MODEL, answers, judgments[q1.question_id])
    assert f"question={q1.question_id}" in page.url
    page.click("#prev")
    _wait(page, q0.question_id, MODEL)
    page.select_option("#model-select", "o3-high")
    _wait(page, q0.question_id, "o3-high")
    assert page.inner_html("#answer-model .md") == render_markdown(
        answers["o3-high"][q0.question_id].text
    )
    assert "model=o3-high" in page.url
    page.go_back()
    _wait(page, q0.question_id, MODEL)
    # a shared URL opens the same view
    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    _wait(page, q0.question_id, MODEL)


def test_search(page: Page, full_site_url: str, questions: list[Question]) -> None:
    q = questions[123]
    page.goto(f"{full_site_url}/browse.html?model={MODEL}")
    _wait(page, questions[0].question_id, MODEL)
    page.fill("#search", q.question_id[:12])
    _wait(page, q.question_id, MODEL)
    assert _listed(page) == [q.question_id]
    words = q.turns[0].split()[:3]
    needle = " ".join(words)
    page.fill("#search", needle)
    expected = [
        x.question_id for x in questions
        if needle.lower() in "\n".join(x.turns).lower() or needle.lower() in x.question_id
    ]
    page.wait_for_function(
        "n => document.querySelectorAll('#question-list a').length === n", arg=len(expected)
    )
    assert _listed(page) == expected
    assert "q=" in page.url


def _model_net(j: Judgment) -> tuple[int, list[int]]:
    points = []
    for gi in range(2):
        out = game_outcome(j.label(gi), gi)
        if out is None:
            continue
        winner, strong = out
        sign = {Winner.A: -1, Winner.B: 1, Winner.TIE: 0}[winner]
        points.append(sign * (DEFAULT_WEIGHT if strong else 1))
    return sum(points), points


def test_filters(
    page: Page, full_site_url: str, questions: list[Question], judgments: dict[str, Judgment],
    artifacts: Path,
) -> None:
    page.goto(f"{full_site_url}/browse.html?model={MODEL}")
    _wait(page, questions[0].question_id, MODEL)
    cluster = questions[7].ko_cluster
    page.select_option("#cluster-select", cluster)
    page.wait_for_function("() => location.search.includes('cluster=')")
    assert _listed(page) == [q.question_id for q in questions if q.ko_cluster == cluster]
    page.select_option("#cluster-select", "")

    nets = {q.question_id: _model_net(judgments[q.question_id]) for q in questions}
    wins = sum(bool(p) and n > 0 for n, p in nets.values())
    ties = sum(bool(p) and n == 0 for n, p in nets.values())
    losses = sum(bool(p) and n < 0 for n, p in nets.values())
    assert wins + ties + losses == 500
    page.wait_for_function("() => !location.search.includes('cluster=')")
    assert page.inner_text("#tally") == (
        f"model better {wins} · tie {ties} · baseline better {losses}"
    )
    filters: dict[str, Callable[[int, list[int]], bool]] = {
        "win": lambda n, p: bool(p) and n > 0,
        "loss": lambda n, p: bool(p) and n < 0,
        "tie": lambda n, p: bool(p) and n == 0,
        "split": lambda n, p: len(p) == 2 and (p[0] > 0) - (p[0] < 0) != (p[1] > 0) - (p[1] < 0),
    }
    for verdict, keep in filters.items():
        page.select_option("#verdict-select", verdict)
        expected = [qid for qid, (n, p) in nets.items() if keep(n, p)]
        page.wait_for_function(
            "n => document.querySelectorAll('#question-list a').length === n",
            arg=len(expected),
        )
        assert _listed(page) == expected, verdict
        assert f"verdict={verdict}" in page.url
        if verdict == "win":
            page.screenshot(path=str(artifacts / "browse-filter-win.png"))
