from __future__ import annotations

from pathlib import Path

from analysis_synthetic import BIASED, write_bench

from koarena.analysis import AnalyzeOptions, analyze
from koarena.bench import Bench
from koarena.controls import Control

KEYS = {
    "position_consistency", "judge_agreement", "self_preference", "separability", "clusters",
    "korean_fidelity",
}


def test_analyze_three_judges(tmp_path: Path) -> None:
    bench = Bench(write_bench(tmp_path), "synthetic")
    ref = tmp_path / "ref.csv"
    ref.write_text("model,score\ngpt-x,3\ngemini-y,2\ndeepseek-w,1\nbase,2\n", encoding="utf-8")
    r = analyze(bench, AnalyzeOptions(rounds=20, self_preference_rounds=200, reference=ref))
    assert r.keys() >= KEYS
    assert r["judges"] == ["deepseek-chat-v3-0324", "gemini-2.0-flash-001", BIASED]
    # No ensemble directory: the leaderboard pools all three judges.
    assert r["leaderboard_judges"] == r["judges"]
    pos = {p["judge"]: p for p in r["position_consistency"]["judges"]}
    assert pos[BIASED]["first_decisive_share"] == 0.6
    assert len(r["judge_agreement"]["pairs"]) == 3
    sp = {(x["judge"], x["model"]): x for x in r["self_preference"]["rows"]}
    assert sp[(BIASED, "gpt-x")]["difference"] == 40.0
    sep = r["separability"]["controls"]
    assert set(sep) == {Control.NONE.value, Control.STYLE.value}
    assert sep["none"]["models"] == 4
    assert sep["none"]["pairs"] == 6
    assert sep["none"]["reference"]["models"] == 4
    clusters = r["clusters"]
    assert clusters["clusters"] == 2
    assert set(clusters["models"]) == {"gpt-x", "gemini-y", "deepseek-w"}
    # gpt-x under the three pooled judges: questions 0-9 (cluster 분류0).
    assert len(clusters["models"]["gpt-x"]["weakest"]) == 2
    kf = {m["model"]: m for m in r["korean_fidelity"]["models"]}
    assert kf["deepseek-w"]["not_korean"] == 20
    assert kf["deepseek-w"]["not_korean_where_baseline_korean"] == 20
    assert kf["gpt-x"]["not_korean"] == 0


def test_analyze_only_ensemble_says_what_is_missing(tmp_path: Path) -> None:
    data = write_bench(tmp_path)
    judgments = data / "synthetic" / "model_judgment"
    (judgments / "gemini-2.0-flash-001").rename(judgments / "ensemble")
    bench = Bench(data, "synthetic")
    r = analyze(bench, AnalyzeOptions(judges=["ensemble"], rounds=10))
    assert r["leaderboard_judges"] == ["ensemble"]
    assert r["judge_agreement"]["available"] is False
    assert "at least two judges" in r["judge_agreement"]["reason"]
    assert r["self_preference"]["available"] is False
    assert "ensemble" in r["self_preference"]["reason"]
    assert r["position_consistency"]["available"] is True
    assert r["separability"]["available"] is True
