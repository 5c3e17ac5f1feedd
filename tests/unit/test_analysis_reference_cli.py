"""`koarena analyze --reference`: the validity metrics against a reference leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from analysis_synthetic import write_bench

from koarena.cli import main


def _analyze(data: Path, ref: Path, out: Path) -> dict[str, Any]:
    assert main(["analyze", "--data-dir", str(data), "--bench", "synthetic", "--rounds", "20",
                 "--self-preference-rounds", "20", "--reference", str(ref),
                 "--output", str(out)]) == 0
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return dict(result["separability"]["controls"]["none"])


def test_reference_in_koarena_order_and_reversed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_bench(tmp_path)
    ref = tmp_path / "ref.csv"
    ref.write_text("model,score\nbase,0\n", encoding="utf-8")
    board = _analyze(data, ref, tmp_path / "a.json")["leaderboard"]
    scores = {r["model"]: r["score"] for r in board}
    # gpt-x 63.33, the three others 50.0: a tie, which τ-b and Spearman both handle
    assert sorted(scores.values()) == [50.0, 50.0, 50.0, 63.33]
    # The reference has koarena's order, then the reverse, plus a model koarena lacks.
    for sign, expected in ((1, 1.0), (-1, -1.0)):
        rows = "".join(f"{m},{sign * s}\n" for m, s in scores.items())
        ref.write_text(f"model,score\n{rows}human-only,50\n", encoding="utf-8")
        got = _analyze(data, ref, tmp_path / "b.json")["reference"]
        assert got["models"] == 4
        assert got["missing_from_bench"] == ["human-only"]
        assert got["spearman"] == expected
        assert got["kendall"] == expected
        assert got["brier_pairs"] == 3  # reference ties are left out
    printed = capsys.readouterr().out
    assert "Kendall" in printed and "Spearman" in printed and "Brier" in printed
