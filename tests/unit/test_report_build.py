"""`build_report` on a small bench written here: layout, embedded data, verdict codes, safety."""

from __future__ import annotations

import re
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


def test_build_report(tmp_path: Path) -> None:
    bench = make_bench(tmp_path / "data")
    site = tmp_path / "site"
    summary = build_report(bench, site, rounds=5, seed=1, workers=2)
    assert summary.questions == 4
    assert summary.models == 3  # base, m1, m2: the leaderboard's rows
    assert summary.judges == ["jx"]
    assert summary.controls == ["style", "none", "length", "markdown"]  # the default first
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()) == [
        ".koarena-report", "analysis.html", "assets/analysis.js", "assets/browse.js",
        "assets/common.js", "assets/leaderboard.js", "assets/report.css", "browse.html",
        "data/index.js", "data/q/0000.js", "data/q/0001.js", "data/q/0002.js", "data/q/0003.js",
        "index.html",
    ]
    for name in ("index.html", "browse.html", "analysis.html"):
        assert '<a href="analysis.html"' in (site / name).read_text("utf-8")
    assert summary.analysis_bytes == (site / "analysis.html").stat().st_size

    page = _page_data(site)
    controls = [Control.NONE, Control.STYLE, Control.LENGTH, Control.MARKDOWN]
    boards = compute_leaderboards(bench, controls, judges=["jx"], rounds=5, seed=1)
    for control, board in boards.items():
        assert [(r["model"], r["score"], r["lower"], r["upper"])
                for r in page["boards"]["jx"][control.value]] == [
            (r.model, r.score, r.lower, r.upper) for r in board.rows
        ]
    rows = {r["model"]: r for r in page["boards"]["jx"]["none"]}
    assert (rows["m1"]["empty_answers"], rows["m1"]["failed_answers"]) == (1, 0)
    assert (rows["m2"]["failed_answers"], rows["m2"]["dropped_games"]) == (1, 1)
    assert page["clusters"]["jx"] == {
        "names": ["가", "나"],
        "en": ["en-가", "en-나"],
        "questions": [2, 2],
        "rates": {"m1": [[50.0, 4], [66.7, 6]], "m2": [[12.5, 4], [100.0, 1]]},
    }

    key, index = _shard(site / "data" / "index.js")
    assert key == "index"
    assert index["models"] == [r.model for r in boards[Control.NONE].rows if r.model != "base"]
    assert index["verdicts"] == {"jx": {"m1": "dbbdcced", "m2": "bdcdd-.."}}
    assert [(q["id"], q["topic"], q["shard"]) for q in index["questions"]] == [
        ("q1", "가", "q/0000.js"), ("q2", "가", "q/0001.js"),
        ("q3", "나", "q/0002.js"), ("q4", "나", "q/0003.js"),
    ]

    key, shard = _shard(site / "data" / "q" / "0001.js")
    assert key == "q:q2"
    assert shard["answers"]["m2"] == {
        "html": ["<p>$ERROR$</p>\n"], "tokens": 30 + 1, "failed": True, "empty": False,
    }
    assert shard["games"]["jx"]["m1"] == [
        {"score": "A>B", "html": "<p>판정 A&gt;B</p>\n", "problem": ""},
        {"score": "B>A", "html": "", "problem": ""},
    ]
    assert shard["games"]["jx"]["m2"] == [
        {"score": "A=B", "html": "<p>판정 A=B</p>\n", "problem": ""},
        {"score": "B>A", "html": "", "problem": ""},
    ]
    _, last = _shard(site / "data" / "q" / "0003.js")
    assert sorted(last["games"]["jx"]) == ["m1"]

    # analysis.html carries the analysis of the same judges, rounds and seed
    result = analyze(bench, AnalyzeOptions(judges=["jx"], rounds=5, seed=1))
    assert _page_data(site, "analysis.html") == analysis_page_data(result, ["m1", "m2"])


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
    for name in ("index.html", "browse.html"):
        assert "analysis.html" not in (site / name).read_text("utf-8")


def test_missing_answer_keeps_the_uncontrolled_board(tmp_path: Path) -> None:
    # a judged answer that is gone: no style covariates for it, so only the plain fit
    bench = make_bench(tmp_path / "data", missing=("m2", "q3"))
    summary = build_report(bench, tmp_path / "site", rounds=0, workers=1)
    assert summary.controls == ["none"]
    assert list(_page_data(tmp_path / "site")["boards"]["jx"]) == ["none"]
    # the analysis falls back in the same way
    analysis = _page_data(tmp_path / "site", "analysis.html")
    assert analysis["separability"]["available"] is False  # rounds=0: no intervals
    build_report(bench, tmp_path / "site", rounds=5, workers=1)
    analysis = _page_data(tmp_path / "site", "analysis.html")
    assert list(analysis["separability"]["controls"]) == ["none"]
    _, shard = _shard(tmp_path / "site" / "data" / "q" / "0002.js")
    assert sorted(shard["answers"]) == ["base", "m1"]
    assert shard["games"]["jx"]["m2"][0]["score"] == "B>A"


def test_topic_falls_back_to_the_english_cluster() -> None:
    assert topic(Question("q", ["t"], cluster="Puzzles", ko_cluster="퍼즐")) == "퍼즐"
    assert topic(Question("q", ["t"], cluster="Puzzles")) == "Puzzles"
    assert topic(Question("q", ["t"])) == ""
