"""`build_report` on a small bench written here: layout, embedded data, verdict codes, safety."""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.analysis import AnalyzeOptions, analyze
from koarena.bench import Bench
from koarena.controls import Control
from koarena.errors import DataError
from koarena.leaderboard import compute_leaderboards
from koarena.records import Question
from koarena.report import build_report
from koarena.report.analysis_page import analysis_page_data
from koarena.report.builder import topic
from koarena.report.cache import BuildCache, cache_dir_for
from koarena.report.shards import name_key
from koarena.report.staging import MARKER

QUESTIONS = {"q1": "가", "q2": "가", "q3": "나", "q4": "나"}
VERDICTS = {
    "m1": {"q1": ("B>A", "A>B"), "q2": ("A>B", "B>A"), "q3": ("A=B", "A=B"), "q4": ("B>>A", "B>A")},
    "m2": {"q1": ("A>B", "B>A"), "q2": ("A=B", "B>A"), "q3": ("B>A", "garbage")},
}


def _meta(n: int) -> dict[str, Any]:
    return {
        "token_len": n,
        "header_count": {"h1": n % 3},
        "list_count": {"ordered": n % 2, "unordered": 1},
        "bold_count": {"**": n % 4, "__": 0},
    }


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))


def make_bench(root: Path, *, missing: tuple[str, str] | None = None) -> Bench:
    bench = Bench(root, "tiny")
    bench.root.mkdir(parents=True)
    bench.judge_config_file.write_text("baseline_model: base\n", "utf-8")
    _write(
        bench.question_file,
        [
            {"question_id": q, "category": "c", "cluster": f"en-{c}", "ko_cluster": c,
             "turns": [{"content": f"질문 {q}"}]}
            for q, c in QUESTIONS.items()
        ],
    )
    texts = {("m2", "q2"): "$ERROR$", ("m1", "q3"): ""}
    # cut off at the token limit, stopped by a filter, cut off but kept on purpose
    finish = {("m1", "q1"): "length", ("m2", "q4"): "content_filter", ("m2", "q1"): "length"}
    for mi, model in enumerate(["base", "m1", "m2"]):
        records = []
        for qi, q in enumerate(QUESTIONS):
            if (model, q) == missing:
                continue
            rec: dict[str, Any] = {
                "question_id": q, "answer_id": f"{model}-{q}", "model_id": model,
                "choices": [{"index": 0, "turns": [
                    {"content": texts.get((model, q), f"{model} 답 {q}")}
                ]}],
                "tstamp": 0.0,
                "conv_metadata": _meta(10 * (mi + 1) + qi),
            }
            if (model, q) in finish:
                rec["choices"][0]["turns"][0]["finish_reason"] = finish[(model, q)]
            if (model, q) == ("m2", "q1"):
                rec["finish_policy"] = "keep"
            records.append(rec)
        _write(bench.answer_file(model), records)
    for model, by_q in VERDICTS.items():
        _write(
            bench.judgment_file("jx", model),
            [
                {"question_id": q, "model": model, "judge": "jx",
                 "games": [{"score": g1, "judgment": f"판정 {g1}"}, {"score": g2}]}
                for q, (g1, g2) in by_q.items()
            ],
        )
    return bench


def _page_data(site: Path, page: str = "index.html") -> dict[str, Any]:
    html = (site / page).read_text("utf-8")
    m = re.search(r'<script type="application/json" id="koarena-data">(.*?)</script>', html, re.S)
    assert m is not None
    return dict(orjson.loads(m.group(1)))


def _shard(path: Path) -> tuple[str, Any]:
    m = re.fullmatch(r'koarenaShard\(("[^"]*"),(.*)\);\n', path.read_text("utf-8"), re.S)
    assert m is not None
    return orjson.loads(m.group(1)), orjson.loads(m.group(2))


def _files(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file())


def test_build_report(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    summary = build_report(bench, site, rounds=5, seed=1, workers=2)
    assert summary.questions == 4
    assert summary.models == 3  # base, m1, m2: the leaderboard's rows
    assert summary.judges == ["jx"]
    # the default first
    assert summary.controls == ["style", "none", "length", "markdown", "style+korean"]
    q = {qid: name_key(qid) for qid in QUESTIONS}
    m = {name: name_key(name) for name in ("base", "m1", "m2")}
    jx = name_key("jx")
    assert _files(site) == sorted([
        ".koarena-report", "analysis.html", "assets/analysis.js", "assets/browse.js",
        "assets/common.js", "assets/leaderboard.js", "assets/model.js", "assets/report.css",
        "browse.html", "index.html", "model.html", "data/index.js",
        *[f"data/q/{k}.js" for k in q.values()],
        *[f"data/a/{m[name]}/{q[qid]}.js" for name in m for qid in q],
        *[f"data/j/{jx}/{m[name]}/{q[qid]}.js" for name in VERDICTS for qid in VERDICTS[name]],
    ])
    for name in ("index.html", "browse.html", "analysis.html", "model.html"):
        assert '<a href="analysis.html"' in (site / name).read_text("utf-8")
    assert summary.analysis_bytes == (site / "analysis.html").stat().st_size
    assert summary.rendered == 4 + 12 + 7  # questions, answers, judgments with text
    # one view: the question's shard, the baseline's answer and the model's
    sizes = [
        sum((site / "data" / rel).stat().st_size for rel in (
            f"q/{q[qid]}.js", f"a/{m['base']}/{q[qid]}.js", f"a/{m[name]}/{q[qid]}.js"))
        for qid in q for name in ("m1", "m2")
    ]
    assert summary.view_bytes == (min(sizes), int(statistics.median(sizes)), max(sizes))

    page = _page_data(site)
    controls = [Control.NONE, Control.STYLE, Control.LENGTH, Control.MARKDOWN, Control.STYLE_KOREAN]
    boards = compute_leaderboards(bench, controls, judges=["jx"], rounds=5, seed=1)
    for control, board in boards.items():
        assert [(r["model"], r["score"], r["lower"], r["upper"])
                for r in page["boards"]["jx"][control.value]] == [
            (r.model, r.score, r.lower, r.upper) for r in board.rows
        ]
    rows = {r["model"]: r for r in page["boards"]["jx"]["none"]}
    assert (rows["m1"]["empty_answers"], rows["m1"]["failed_answers"]) == (1, 0)
    assert (rows["m2"]["failed_answers"], rows["m2"]["dropped_games"]) == (1, 1)
    # the cached answer records keep the finish reasons: the report counts what the CLI does
    assert (rows["m1"]["truncated_answers"], rows["m1"]["filtered_answers"]) == (1, 0)
    assert (rows["m2"]["truncated_answers"], rows["m2"]["filtered_answers"]) == (0, 1)
    cli_rows = {r.model: r for r in boards[Control.NONE].rows}
    for name in ("base", "m1", "m2"):
        assert (rows[name]["truncated_answers"], rows[name]["filtered_answers"]) == (
            cli_rows[name].truncated_answers, cli_rows[name].filtered_answers)
    assert page["clusters"]["jx"] == {
        "names": ["가", "나"],
        "en": ["en-가", "en-나"],
        "questions": [2, 2],
        "rates": {"m1": [[50.0, 4], [66.7, 6]], "m2": [[12.5, 4], [100.0, 1]]},
    }

    key, index = _shard(site / "data" / "index.js")
    assert key == "index.js"
    assert index["models"] == [r.model for r in boards[Control.NONE].rows if r.model != "base"]
    assert index["model_keys"] == m
    assert index["judge_keys"] == {"jx": jx}
    assert index["verdicts"] == {"jx": {"m1": "dbbdcced", "m2": "bdcdd-.."}}
    assert index["explained"] == {"jx": {"m1": "1111", "m2": "1110"}}
    assert index["problems"] == {}
    assert [(x["id"], x["topic"], x["key"]) for x in index["questions"]] == [
        ("q1", "가", q["q1"]), ("q2", "가", q["q2"]), ("q3", "나", q["q3"]), ("q4", "나", q["q4"]),
    ]

    key, shard = _shard(site / "data" / "q" / f"{q['q2']}.js")
    assert key == f"q/{q['q2']}.js"
    assert shard == {
        "id": "q2", "cluster": "en-가", "ko_cluster": "가", "turns": ["<p>질문 q2</p>\n"],
    }
    key, answer = _shard(site / "data" / "a" / m["m2"] / f"{q['q2']}.js")
    assert key == f"a/{m['m2']}/{q['q2']}.js"
    assert answer == {
        "model": "m2", "html": ["<p>$ERROR$</p>\n"], "tokens": 30 + 1, "failed": True,
        "empty": False,
    }
    _, text = _shard(site / "data" / "j" / jx / m["m1"] / f"{q['q2']}.js")
    assert text == {"games": [
        {"html": "<p>판정 A&gt;B</p>\n", "reasoning": []}, {"html": "", "reasoning": []},
    ]}

    # analysis.html: the analysis of the same judges, rounds and seed, computed from the
    # report's own data and fits equals one that loads and fits everything itself
    result = analyze(bench, AnalyzeOptions(judges=["jx"], rounds=5, seed=1))
    assert _page_data(site, "analysis.html") == analysis_page_data(result, ["m1", "m2"])

    model = _page_data(site, "model.html")
    assert model["models"] == index["models"]
    m1 = model["by_model"]["m1"]
    assert m1["scores"]["jx"]["none"] == {
        "rank": [r.model for r in boards[Control.NONE].rows].index("m1") + 1,
        "score": rows["m1"]["score"], "lower": rows["m1"]["lower"], "upper": rows["m1"]["upper"],
    }
    assert m1["weakest"] == {"jx": [
        {"cluster": "가", "win_rate": 50.0, "battles": 4},
        {"cluster": "나", "win_rate": 66.7, "battles": 6},
    ]}
    assert m1["korean"]["answers"] == 4
    assert m1["korean"]["empty"] == 1
    assert m1["agreement"] == []


@pytest.mark.parametrize("workers", [1, 2])
def test_unchanged_rebuild_relinks_and_a_changed_answer_is_rendered_again(
    tmp_path: Path, workers: int
) -> None:
    # with 2 workers, the few changed files are read first and rendered in chunks by the
    # workers while the leaderboards are fitted; with one, all in this process
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    first = build_report(bench, site, rounds=5, seed=1, workers=workers)
    files = {rel: (site / rel).read_bytes() for rel in _files(site)}

    again = build_report(bench, site, rounds=5, seed=1, workers=workers)
    assert (again.reused, again.rendered) == (True, 0)
    assert {rel: (site / rel).read_bytes() for rel in _files(site)} == files
    # a file of the site gone: the unchanged site is relinked from the cache, whole again
    (site / "model.html").unlink()
    again = build_report(bench, site, rounds=5, seed=1, workers=workers)
    assert (again.reused, again.rendered) == (True, 0)
    assert {rel: (site / rel).read_bytes() for rel in _files(site)} == files

    # one answer's text changes: only its shard is rendered again, and it shows the new text
    path = bench.answer_file("m1")
    path.write_text(path.read_text("utf-8").replace("m1 답 q2", "새 답 **q2**"), "utf-8")
    changed = build_report(bench, site, rounds=5, seed=1, workers=workers)
    assert (changed.reused, changed.rendered) == (False, 1)
    rel = f"data/a/{name_key('m1')}/{name_key('q2')}.js"
    assert _shard(site / rel)[1]["html"] == ["<p>새 답 <strong>q2</strong></p>\n"]
    assert files[rel] != (site / rel).read_bytes()
    assert {r for r in _files(site) if (site / r).read_bytes() != files[r]} <= {
        rel, "index.html", "analysis.html", "model.html", "data/index.js", ".koarena-report",
    }
    assert first.rendered > changed.rendered

    # a new model with answers and judgments: only its shards are rendered
    records = [
        {"question_id": qid, "model_id": "m3", "choices": [{"turns": [{"content": f"m3 {qid}"}]}],
         "conv_metadata": _meta(3)}
        for qid in QUESTIONS
    ]
    _write(bench.answer_file("m3"), records)
    _write(bench.judgment_file("jx", "m3"), [
        {"question_id": qid, "model": "m3", "judge": "jx",
         "games": [{"score": "A>B"}, {"score": "B>A"}]}
        for qid in QUESTIONS
    ])
    added = build_report(bench, site, rounds=5, seed=1, workers=workers)
    assert (added.models, added.rendered) == (4, 4)  # base, m1, m2, m3; m3's 4 shards
    assert _shard(site / f"data/a/{name_key('m3')}/{name_key('q1')}.js")[1]["html"] == [
        "<p>m3 q1</p>\n"
    ]


def test_failed_rebuild_keeps_the_previous_site(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    build_report(bench, site, rounds=0, workers=1)
    files = {rel: (site / rel).read_bytes() for rel in _files(site)}
    with bench.judgment_file("jx", "m1").open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    with pytest.raises(DataError, match=r"m1.jsonl:5"):
        build_report(bench, site, rounds=0, workers=1)
    assert {rel: (site / rel).read_bytes() for rel in _files(site)} == files
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.koarena-cache", "data", "site"]
    # what a killed build leaves beside the site goes with the next build
    (tmp_path / ".site.building-x1" / "data").mkdir(parents=True)
    bench.judgment_file("jx", "m1").write_text(
        bench.judgment_file("jx", "m1").read_text("utf-8").replace("{not json\n", ""), "utf-8"
    )
    build_report(bench, site, rounds=0, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.koarena-cache", "data", "site"]


def test_refuses_symbolic_links(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    build_report(bench, site, rounds=0, workers=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep", "utf-8")
    (site / "data" / "elsewhere").symlink_to(outside)
    with pytest.raises(DataError, match="symbolic link"):
        build_report(bench, site, rounds=0, workers=1)
    assert (outside / "keep.txt").read_text("utf-8") == "keep"
    assert (site / "data" / "elsewhere").is_symlink()

    link = tmp_path / "link"
    link.symlink_to(outside)
    with pytest.raises(DataError, match="is a symbolic link"):
        build_report(bench, link, rounds=0, workers=1)
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


def test_rebuild_in_place_and_refuse_foreign_directory(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    build_report(bench, site, rounds=0, workers=1)
    stale = site / "data" / "q" / "9999.js"
    stale.write_text("stale", "utf-8")
    build_report(bench, site, rounds=0, workers=1)
    assert not stale.exists()

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep", "utf-8")
    with pytest.raises(DataError, match="not written by 'koarena report'"):
        build_report(bench, foreign, rounds=0, workers=1)
    assert (foreign / "notes.txt").read_text("utf-8") == "keep"


def test_without_analysis(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    build_report(bench, site, rounds=0, workers=1)
    assert (site / "analysis.html").is_file()
    summary = build_report(bench, site, rounds=0, workers=1, analysis=False)
    assert summary.analysis_bytes is None
    assert not (site / "analysis.html").exists()
    for name in ("index.html", "browse.html", "model.html"):
        assert "analysis.html" not in (site / name).read_text("utf-8")


@pytest.mark.parametrize("workers", [1, 2])
def test_missing_answer_keeps_the_uncontrolled_board(tmp_path: Path, workers: int) -> None:
    # a judged answer that is gone: no style covariates for it, so only the plain fit (with two
    # workers, both the forked child's controls and this process's fail and fall back)
    bench = make_bench(tmp_path / "data", missing=("m2", "q3"))
    summary = build_report(bench, tmp_path / "site", rounds=0, workers=workers)
    assert summary.controls == ["none"]
    assert list(_page_data(tmp_path / "site")["boards"]["jx"]) == ["none"]
    # the analysis falls back in the same way
    analysis = _page_data(tmp_path / "site", "analysis.html")
    assert analysis["separability"]["available"] is False  # rounds=0: no intervals
    build_report(bench, tmp_path / "site", rounds=5, workers=workers)
    analysis = _page_data(tmp_path / "site", "analysis.html")
    assert list(analysis["separability"]["controls"]) == ["none"]
    data = tmp_path / "site" / "data"
    assert not (data / "a" / name_key("m2") / f"{name_key('q3')}.js").exists()
    assert (data / "a" / name_key("m1") / f"{name_key('q3')}.js").is_file()
    _, index = _shard(data / "index.js")
    assert index["verdicts"]["jx"]["m2"][4:6] == "d-"


def test_topic_falls_back_to_the_english_cluster() -> None:
    assert topic(Question("q", ["t"], cluster="Puzzles", ko_cluster="퍼즐")) == "퍼즐"
    assert topic(Question("q", ["t"], cluster="Puzzles")) == "Puzzles"
    assert topic(Question("q", ["t"])) == ""


def test_one_build_of_a_site_at_a_time(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    cache = BuildCache(cache_dir_for(site))
    busy = rf"another 'koarena report' \(pid {os.getpid()}\) is building"
    with cache.lock(site), pytest.raises(DataError, match=busy):
        build_report(bench, site, rounds=0, workers=1)
    assert not site.exists()
    build_report(bench, site, rounds=0, workers=1)
    assert (site / "index.html").is_file()


def _tree(site: Path) -> dict[str, bytes]:
    """Every file of a site and its bytes, but the build key (which hashes the code)."""
    return {rel: (site / rel).read_bytes() for rel in _files(site) if rel != MARKER}


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


@pytest.mark.parametrize("workers", [1, 2])
def test_every_rebuild_equals_a_cold_build(tmp_path: Path, workers: int) -> None:
    # each rebuild starts from the cache and the spare (the site two builds back); after any
    # change of the inputs it must give byte for byte the site a cold build gives
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    build_report(bench, site, rounds=5, seed=1, workers=workers)
    m2_files = [bench.answer_file("m2"), bench.judgment_file("jx", "m2")]
    m2_bytes = [p.read_bytes() for p in m2_files]

    def remove_m2() -> None:
        for p in m2_files:
            p.unlink()

    def restore_m2() -> None:
        for p, data in zip(m2_files, m2_bytes, strict=True):
            p.write_bytes(data)

    changes: list[tuple[str, Callable[[], None]]] = [
        ("an answer's text", lambda: _edit(bench.answer_file("m1"), "m1 답 q4", "바뀐 답 q4")),
        ("one verdict", lambda: _edit(bench.judgment_file("jx", "m1"),
                                      '"score":"A=B"', '"score":"A>>B"')),
        ("a model removed", remove_m2),
        ("the model back", restore_m2),
        ("the baseline's answer", lambda: _edit(bench.answer_file("base"),
                                               "base 답 q1", "새 기준 답")),
    ]
    for i, (what, change) in enumerate(changes):
        before = _tree(site)
        change()
        warm = build_report(bench, site, rounds=5, seed=1, workers=workers)
        cold_site = tmp_path / f"cold{i}"
        cold = build_report(bench, cold_site, rounds=5, seed=1, workers=workers)
        assert _tree(site) == _tree(cold_site), what
        assert _tree(site) != before, what
        assert (warm.models, warm.controls) == (cold.models, cold.controls)
        assert (tmp_path / ".site.spare" / "index.html").is_file()
    m2_shard = f"data/a/{name_key('m2')}/{name_key('q1')}.js"
    assert m2_shard in _tree(site)


def test_a_tampered_spare_is_corrected(tmp_path: Path) -> None:
    # the spare is the previous site, which anyone could have changed: a file replaced, one
    # added, a link to elsewhere, a directory; the next build still gives the cold build's site
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    build_report(bench, site, rounds=0, workers=1)
    _edit(bench.answer_file("m1"), "m1 답 q4", "바뀐 답 q4")
    build_report(bench, site, rounds=0, workers=1)
    spare = tmp_path / ".site.spare"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep", "utf-8")
    shard = spare / "data" / "q" / f"{name_key('q1')}.js"
    shard.unlink()
    shard.write_text("stale", "utf-8")
    (spare / "index.html").unlink()
    (spare / "index.html").write_text("stale", "utf-8")
    (spare / "extra.html").write_text("extra", "utf-8")
    (spare / "data" / "old" / "deep").mkdir(parents=True)
    (spare / "data" / "old" / "deep" / "x.js").write_text("x", "utf-8")
    (spare / "data" / "elsewhere").symlink_to(outside)
    (spare / "data" / "a" / "file-link.js").symlink_to(outside / "keep.txt")

    _edit(bench.answer_file("m1"), "바뀐 답 q4", "또 바뀐 답 q4")
    build_report(bench, site, rounds=0, workers=1)
    build_report(bench, tmp_path / "cold", rounds=0, workers=1)
    assert _tree(site) == _tree(tmp_path / "cold")
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]
    assert (outside / "keep.txt").read_text("utf-8") == "keep"
