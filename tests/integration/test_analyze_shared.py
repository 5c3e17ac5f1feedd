"""``koarena analyze`` on the shared Ko-Arena-Hard data (ensemble verdicts only)."""

from __future__ import annotations

from typing import Any


def test_analyze_shared_data(full_analysis: Any) -> None:
    """The session's one run of ``koarena analyze --rounds 20 --output …`` on the whole data."""
    printed = full_analysis.printed
    assert "Judge agreement: not available" in printed
    assert "Self-preference: not available" in printed
    r = full_analysis.result
    assert r["leaderboard_judges"] == ["ensemble"]
    assert r["baseline"] == "claude-3.7-sonnet"
    ensemble = r["position_consistency"]["judges"][0]
    assert ensemble["judge"] == "ensemble"
    assert ensemble["judgments"] == 37999
    sep = r["separability"]["controls"]
    assert {c: sep[c]["models"] for c in sep} == {"none": 76, "style": 76}
    assert all(sep[c]["pairs"] == 76 * 75 // 2 for c in sep)
    assert all(0.8 < sep[c]["separability"] <= 1.0 for c in sep)
    kf = {m["model"]: m for m in r["korean_fidelity"]["models"]}
    assert len(kf) == 76
    # gemini-2.0-pro-exp-02-05 has 26 `$ERROR$` answers; they are counted, not scored.
    assert kf["gemini-2.0-pro-exp-02-05"]["failed"] == 26
    # The baseline's own not-Korean answers are, by definition, not drift.
    assert kf["claude-3.7-sonnet"]["not_korean_where_baseline_korean"] == 0
    assert r["clusters"]["clusters"] == 250
    assert len(r["clusters"]["models"]) == 75
