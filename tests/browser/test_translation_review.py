"""The translation review page: hostile prompts and translations show as text, nothing runs,
nothing is fetched."""

from __future__ import annotations

from pathlib import Path

import orjson
from playwright.sync_api import Page
from test_xss import PAYLOADS

from koarena.bench import Bench
from koarena.translation.checks import check_turn
from koarena.translation.items import SourceItem, TranslationInfo
from koarena.translation.review import write_review


def test_review_page_runs_no_hostile_text(page: Page, tmp_path: Path, artifacts: Path) -> None:
    sources = [{"uid": f"q{i}<img src=x onerror=window.__xss=1>", "category": "hard_prompt",
                "subcategory": '"><script>window.__xss=1</script>', "prompt": p}
               for i, p in enumerate(PAYLOADS)]
    src, dst = Bench(tmp_path, "en"), Bench(tmp_path, "ko")
    src.root.mkdir()
    src.question_file.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in sources))
    out = []
    for r in sources:
        item = SourceItem.from_record(r, "test")
        korean = f"번역: {r['prompt']}"
        info = TranslationInfo("en", item.turns, "tr<script>", "m", "h", 0.0, 1,
                               [check_turn(item.turns[0], korean)], 0.0)
        out.append(item.translated([korean], info.to_dict()))
    dst.root.mkdir()
    dst.question_file.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in out))
    review = write_review(src, dst)
    assert review.items == len(PAYLOADS)

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: d.dismiss())
    page.goto(review.path.as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.scripts.length") == 0
    assert requests == [review.path.as_uri()]
    assert page.locator("section.item").count() == len(PAYLOADS)
    assert page.locator("section.flagged").count() == len(PAYLOADS)  # "번역:" opens an answer
    assert "<script>window.__xss=1</script>" in page.locator("section.item").first.inner_text()
    page.screenshot(path=str(artifacts / "translation_review.png"))
