"""Untrusted text cannot run script or break the pages: payloads planted in every text field."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import orjson
import pytest
from playwright.sync_api import Page

from koarena.bench import Bench
from koarena.controls import DEFAULT_CONTROL
from koarena.leaderboard import compute_leaderboards
from koarena.report import build_report
from koarena.report.markdown import ALLOWED_TAGS, render_markdown

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '<svg onload="window.__xss=1"></svg>',
    "<svg><script>window.__xss=1</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "[click](javascript:window.__xss=1)",
    "[click](JAVASCRIPT:window.__xss=1)",
    '<a href="javascript:window.__xss=1">x</a>',
    "[data](data:text/html,<script>window.__xss=1</script>)",
    '![img](x" onerror="window.__xss=1)',
    '![img](https://tracker.example/pixel.png)',
    '[t](https://example.com "\\"><img src=x onerror=window.__xss=1>")',
    "```html\n</code></pre><script>window.__xss=1</script>\n```",
    "`</code><img src=x onerror=window.__xss=1>`",
    "</script><script>window.__xss=1</script>",
    "<!--<script>window.__xss=1</script>-->",
    '<details open ontoggle="window.__xss=1">x</details>',
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    '<object data="javascript:window.__xss=1"></object>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=1">',
    '<form><button formaction="javascript:window.__xss=1">go</button></form>',
    '<noscript><p title="</noscript><img src=x onerror=window.__xss=1>">',
    "<style>body{display:none}</style>",
    "line\u2028separators\u2029 and </script><!-- in text",
    '<a href="https://ok.example/" onclick="window.__xss=1">ok link</a>',
    '<div id="koarena-data">clobber</div><form id="question"></form>',
    "<a href='javas&#x09;cript:window.__xss=1'>tab</a> [e](&#106;avascript:window.__xss=1)",
]
MODELS = ["<img src=x onerror=window.__xss=1>", 'm" onmouseover="window.__xss=1']
JUDGES = ["judge<script>", "j2 <b onmouseover=window.__xss=1>"]
LABELS = ["A>B", "B>A", "A=B", "A>>B", "B>>A"]
ATTRIBUTES = {"href", "title", "rel", "start", "align"}


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def _qid(i: int) -> str:
    # the ids are untrusted too; the last one carries markup
    return f"q{i:02d}" if i < len(PAYLOADS) else "q-</script><b>x</b>"


@pytest.fixture(scope="module")
def xss_bench(tmp_path_factory: pytest.TempPathFactory) -> Bench:
    root = tmp_path_factory.mktemp("xss-data")
    bench = Bench(root, "xss")
    bench.root.mkdir()
    bench.judge_config_file.write_text("baseline_model: base\n", "utf-8")
    texts = [*PAYLOADS, "\n\n".join(PAYLOADS)]
    _write(bench.question_file, [
        {"question_id": _qid(i), "category": "c", "cluster": t[:40], "ko_cluster": f"군집 {t[:30]}",
         "turns": [{"content": t}]}
        for i, t in enumerate(texts)
    ])
    meta = {"token_len": 5, "header_count": {}, "list_count": {}, "bold_count": {}}
    for model in ["base", *MODELS]:
        _write(bench.answer_file(model), [
            {"question_id": _qid(i), "answer_id": str(i), "model_id": model,
             "choices": [{"index": 0, "turns": [{"content": t}]}], "conv_metadata": meta}
            for i, t in enumerate(texts)
        ])
    for ji, judge in enumerate(JUDGES):
        for mi, model in enumerate(MODELS):
            _write(bench.judgment_file(judge, model), [
                {"question_id": _qid(i), "model": model, "judge": judge,
                 "games": [{"score": LABELS[(i + mi + ji) % 5], "judgment": t,
                            "judge_reasoning": [t]},
                           {"score": LABELS[(i + 2) % 5], "judgment": t}]}
                for i, t in enumerate(texts)
            ])
    return bench


@pytest.fixture(scope="module")
def xss_site(xss_bench: Bench, tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("xss-site")
    build_report(xss_bench, site, rounds=5, workers=1)
    return site


CHECK_DOM = """([allowed, attrs]) => {
  const bad = [];
  for (const node of document.querySelectorAll('.md, .md *')) {
    if (node.matches('.md')) continue;
    if (!allowed.includes(node.tagName.toLowerCase())) bad.push(node.tagName);
    for (const a of node.attributes) {
      if (!attrs.includes(a.name)) bad.push(node.tagName + '@' + a.name);
      if (a.name === 'href' && !/^(https?:|mailto:)/i.test(a.value)) bad.push('href ' + a.value);
    }
  }
  for (const s of document.scripts) {
    const data = s.id === 'koarena-data' && s.type === 'application/json';
    if (!data && (!s.src || s.type)) bad.push('inline script');
  }
  if (document.querySelectorAll('#koarena-data').length > 1) bad.push('clobbered data');
  return bad;
}"""


BROWSE_VIEW = f"""([allowed, attrs]) => {{
  const q = (sel) => document.querySelector(sel);
  const all = (sel) => [...document.querySelectorAll(sel)];
  // visible as Playwright means it: a box of some size, not visibility: hidden
  const visible = (e) => {{
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  }};
  return {{
    xss: window.__xss ?? null,
    bad: ({CHECK_DOM})([allowed, attrs]),
    question_id: q('#question-id').innerText,
    model: q('#answer-model .name').innerText,
    baseline: q('#answer-baseline .name').innerText,
    answers: all('.answers > section').length,
    games: all('.judge .game').length,
    judges: all('.judge h3').map((h) => h.innerText),
    explanations: all('.game .explanation').length,
    first_explanation: q('.game .explanation').innerHTML,
    reasoning: all('.game .reasoning').length,
    first_reasoning: q('.game .reasoning').innerHTML,
    reasoning_visible: visible(q('.game .reasoning')),
    question_visible: visible(q('#question')),
  }};
}}"""
"""The browser's view of the judgment browser in one call: what `_intact` checks and what the
page shows."""


def _intact(page: Page) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.evaluate(CHECK_DOM, [sorted(ALLOWED_TAGS), sorted(ATTRIBUTES)]) == []


def test_leaderboard_with_hostile_names(
    page: Page, xss_site: Path, xss_bench: Bench, artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(xss_site.joinpath("index.html").as_uri())
    page.wait_for_selector("body[data-ready='1']")
    models = page.locator("#board tbody tr td.model a.model-page").all_inner_texts()
    assert sorted(models) == sorted(MODELS)
    assert page.locator("#board tbody tr.baseline td.model").inner_text() == "basebaseline"
    # each model links to its page and to its answers, by name in the query
    for cell in page.locator("#board tbody tr:not(.baseline) td.model").all():
        name = cell.locator("a.model-page").inner_text()
        for cls, target in (("model-page", "model.html"), ("browse-link", "browse.html")):
            href = cell.locator(f"a.{cls}").get_attribute("href")
            assert href is not None and href.startswith(target + "?")
            assert parse_qs(urlsplit(href).query)["model"] == [name]
    assert page.locator("#board tbody img, #chart-box img").count() == 0
    for m in MODELS:
        page.select_option("#cluster-model", m)
    page.locator("#chart-box svg").hover()
    _intact(page)
    # the judge switch shows each judge's own leaderboard
    for judge in JUDGES:
        page.select_option("#judge-select", judge)
        board = compute_leaderboards(xss_bench, [DEFAULT_CONTROL], judges=[judge], rounds=0)
        rows = board[DEFAULT_CONTROL].rows
        assert page.locator("#board tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.model)"
        ) == [r.model for r in rows]
        assert page.locator("#board tbody td.score").all_inner_texts() == [
            f"{r.score:.2f}" for r in rows
        ]
    _intact(page)
    assert all(u.startswith("file://") for u in requests), requests
    page.screenshot(path=str(artifacts / "xss-leaderboard.png"), full_page=True)


def test_analysis_with_hostile_names(
    page: Page, xss_site: Path, xss_bench: Bench, artifacts: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(xss_site.joinpath("index.html").as_uri())
    page.click("header.top nav a[href='analysis.html']")
    page.wait_for_selector("body[data-ready='1']")
    # model, judge and cluster names are all there, as text
    korean = page.locator("#korean-table tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.row)"
    )
    assert sorted(korean) == sorted(["base", *MODELS])
    names = page.locator("#korean-table tbody td.c-model").all_inner_texts()
    assert sorted(n.removesuffix("baseline").strip() for n in names) == sorted(["base", *MODELS])
    assert sorted(page.locator("#positions-table tbody td.c-judge").all_inner_texts()) == sorted(
        JUDGES
    )
    assert sorted(
        page.locator("#agreement-table tbody td.c-judge-a, #agreement-table tbody td.c-judge-b")
        .all_inner_texts()
    ) == sorted(JUDGES)
    assert page.locator("#self-preference .unavailable").count() == 1
    assert sorted(page.locator("#clusters-table tbody td.c-model").all_inner_texts()) == sorted(
        MODELS
    )
    clusters = {q.ko_cluster for q in xss_bench.load_questions()}
    links = page.locator("#clusters-table td.c-weakest a")
    assert links.count() == 3 * len(MODELS)
    for link in links.all():
        link.hover()
        href = link.get_attribute("href")
        assert href is not None and href.startswith("browse.html?")
        query = parse_qs(urlsplit(href).query)
        assert query["model"][0] in MODELS
        assert query["cluster"][0] in clusters
    for th in page.locator("#analysis th button").all():
        th.click()
    assert page.locator(
        "#analysis img, #analysis svg, #analysis iframe, #analysis script, #analysis style"
    ).count() == 0
    _intact(page)
    # a weakest-cluster link opens the browser on that model and cluster
    links.first.click()
    page.wait_for_selector("body[data-ready='1'][data-question]")
    assert page.input_value("#model-select") in MODELS
    _intact(page)
    assert all(u.startswith("file://") for u in requests), requests
    page.goto(xss_site.joinpath("analysis.html").as_uri())
    page.wait_for_selector("body[data-ready='1']")
    page.screenshot(path=str(artifacts / "xss-analysis.png"), full_page=True)


@pytest.mark.parametrize("model", MODELS)
def test_browse_every_payload(page: Page, xss_site: Path, model: str, artifacts: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    base = xss_site.joinpath("browse.html").as_uri()
    for i in range(len(PAYLOADS) + 1):
        qid = _qid(i)
        # the first question by its address, the others as a reader steps through them (a page
        # load apiece made this the slowest test); a payload that ran at any step would have
        # left window.__xss behind
        if i == 0:
            page.goto(f"{base}?question={quote(qid, safe='')}&model={quote(model, safe='')}")
        else:
            page.click("#next")
        page.wait_for_function(
            "([q, m]) => document.body.dataset.question === q && document.body.dataset.model === m",
            arg=[qid, model],
        )
        # the judges' texts load when opened, then their reasoning (game 1 has some); opened
        # all at once, as clicks would race the layout shifts of the texts arriving
        page.locator("details.explanation-box").evaluate_all("ds => ds.forEach(d => d.open = true)")
        page.wait_for_function(
            "n => document.querySelectorAll('.game .explanation').length === n",
            arg=2 * len(JUDGES),
        )
        page.locator("details.judge-reasoning").evaluate_all("ds => ds.forEach(d => d.open = true)")
        for link in page.locator(".md a").all():
            link.hover()
        # what the page shows, read in one call (a call per value made this test the slowest)
        text = [*PAYLOADS, "\n\n".join(PAYLOADS)][i]
        html = render_markdown(text)
        assert page.evaluate(BROWSE_VIEW, [sorted(ALLOWED_TAGS), sorted(ATTRIBUTES)]) == {
            "xss": None,
            "bad": [],
            "question_id": qid,
            "model": model,
            "baseline": "base",
            "answers": 2,
            "games": 2 * len(JUDGES),
            "judges": sorted(JUDGES),
            # the judge's explanation is there, as rendered (and sanitised) at build time
            "explanations": 2 * len(JUDGES),
            "first_explanation": html,
            "reasoning": len(JUDGES),
            "first_reasoning": html,
            "reasoning_visible": True,
            "question_visible": True,
        }
    assert all(u.startswith("file://") for u in requests), [
        u for u in requests if not u.startswith("file://")
    ]
    page.screenshot(path=str(artifacts / f"xss-browse-{MODELS.index(model)}.png"), full_page=True)


def test_model_page_with_hostile_names(page: Page, xss_site: Path, artifacts: Path) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(xss_site.joinpath("index.html").as_uri())
    page.wait_for_selector("body[data-ready='1']")
    for model in MODELS:
        page.goto(xss_site.joinpath("index.html").as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.locator("#board tbody tr").filter(has_text=model).locator("a.model-page").click()
        page.wait_for_function("m => document.body.dataset.model === m", arg=model)
        assert page.inner_text("#model-name") == model
        assert page.input_value("#model-select") == model
        # both judges' scores, the agreement of the two judges, the weakest clusters as links
        assert page.locator("#score-table tbody tr td:first-child").all_inner_texts() == sorted(
            JUDGES
        )
        assert page.locator("#agreement-box tbody tr").count() == 1
        for link in page.locator("#weakest a").all():
            href = link.get_attribute("href")
            assert href is not None and href.startswith("browse.html?")
            assert parse_qs(urlsplit(href).query)["model"] == [model]
        assert page.locator(
            "#model img, #model svg, #model iframe, #model script, #model style"
        ).count() == 0
        _intact(page)
    assert all(u.startswith("file://") for u in requests), requests
    page.screenshot(path=str(artifacts / "xss-model.png"), full_page=True)
