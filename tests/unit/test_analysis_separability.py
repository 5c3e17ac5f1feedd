from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from koarena.analysis.separability import (
    Scored,
    agreement_with_confidence,
    kendall,
    pair_rank_brier,
    read_reference,
    reference_metrics,
    separability,
    spearman,
    win_probability_brier,
)
from koarena.errors import DataError

BENCH = {
    "a": Scored(80.0, 75.0, 85.0),
    "b": Scored(60.0, 55.0, 76.0),  # overlaps a
    "c": Scored(40.0, 35.0, 45.0),
    "d": Scored(10.0, 5.0, 15.0),
}


def test_separability_counts_non_overlapping_pairs() -> None:
    # Pairs: ab overlap; ac, ad, bc, bd, cd separated.
    assert separability(BENCH) == (6, 5)
    # Touching intervals overlap.
    assert separability({"x": Scored(1, 0, 2), "y": Scored(3, 2, 4)}) == (1, 0)


def test_agreement_with_confidence() -> None:
    # Reference without intervals: every pair with different scores is separated.
    ref = {"a": Scored(4), "b": Scored(3), "c": Scored(1), "d": Scored(2), "e": Scored(9)}
    # Over a..d: ab 0 (bench cannot separate), ac +1, ad +1, bc +1, bd +1, cd −1 (reversed).
    assert agreement_with_confidence(BENCH, ref) == (3 / 6, 6)
    # A reference with intervals only counts the pairs it separates itself.
    ref_ci = {"a": Scored(4, 3.5, 4.5), "b": Scored(3, 2.5, 4.2), "c": Scored(1, 0, 2)}
    # ab not separated by the reference; ac +1; bc +1.
    assert agreement_with_confidence(BENCH, ref_ci) == (1.0, 2)
    assert agreement_with_confidence(BENCH, {"a": Scored(1)}) == (None, 0)


def test_spearman() -> None:
    assert spearman([1, 2, 3, 4], [10, 30, 20, 40]) == 0.8
    assert spearman([1, 2, 3], [3, 2, 1]) == -1.0
    # Ties share their average rank.
    assert spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(0.8660254037844386)
    assert spearman([1], [2]) is None
    assert spearman([1, 1], [1, 2]) is None


def test_kendall() -> None:
    # one discordant pair (b, c) of six
    assert kendall([1, 2, 3, 4], [10, 30, 20, 40]) == pytest.approx(4 / 6)
    assert kendall([1, 2, 3], [3, 2, 1]) == -1.0
    assert kendall([1, 2], [5, 5]) is None


def test_win_probability_brier() -> None:
    ratings = {"a": 1400.0, "b": 1400.0, "c": 1000.0, "d": 1000.0}
    ref = {"a": Scored(4), "b": Scored(3), "c": Scored(1), "d": Scored(2)}
    # ab and dc: equal ratings, p = 1/2; the four pairs 400 apart: p = 10/11.
    brier, pairs = win_probability_brier(ratings, ref)
    assert pairs == 6
    assert brier == pytest.approx((2 * 0.25 + 4 / 121) / 6)
    # a reference tie is left out
    assert win_probability_brier(ratings, {"a": Scored(1), "c": Scored(1)}) == (None, 0)


def test_pair_rank_brier() -> None:
    boot = {
        "a": np.array([3.0, 3.0, 1.0, 2.0]),
        "b": np.array([1.0, 2.0, 2.0, 2.0]),
        "c": np.array([0.0, 0.0, 0.0, 0.0]),
    }
    ref = {"a": Scored(3), "b": Scored(2), "c": Scored(1)}
    # P(a above b) = 2/4 + ½·1/4 = 0.625; P(a above c) = 1; P(b above c) = 1.
    brier, pairs = pair_rank_brier(boot, ref)
    assert pairs == 3
    assert brier == pytest.approx((0.375**2) / 3)
    # A reference tie is left out; reversing the reference turns certainty into error 1.
    brier, pairs = pair_rank_brier(boot, {"a": Scored(1), "b": Scored(1), "c": Scored(5)})
    assert pairs == 2
    assert brier == 1.0


def test_reference_file(tmp_path: Path) -> None:
    f = tmp_path / "ref.csv"
    f.write_text("model,score,lower,upper,extra\na,4,3.5,4.5,x\nb,3,,,y\n", encoding="utf-8")
    assert read_reference(f) == {"a": Scored(4, 3.5, 4.5), "b": Scored(3, None, None)}
    bad = tmp_path / "bad.csv"
    bad.write_text("name,score\na,1\n", encoding="utf-8")
    with pytest.raises(DataError, match="model and score"):
        read_reference(bad)
    bad.write_text("model,score\na,high\n", encoding="utf-8")
    with pytest.raises(DataError, match=":2"):
        read_reference(bad)
    with pytest.raises(DataError, match="not found"):
        read_reference(tmp_path / "missing.csv")


def test_reference_metrics_summary() -> None:
    ref = {"a": Scored(4), "b": Scored(3), "c": Scored(1)}
    m = reference_metrics(BENCH, None, ref)
    assert m["models"] == 3
    assert m["missing_from_reference"] == ["d"]
    assert m["agreement_with_confidence"] == 2 / 3
    assert m["spearman"] == 1.0
    assert m["brier"] is None


def test_reference_metrics_on_a_synthetic_leaderboard() -> None:
    """Known answers: the reference swaps c and d, which koarena separates the other way."""
    ref = {
        "a": Scored(1300, 1290, 1310), "b": Scored(1295, 1285, 1305),  # ab not separated
        "c": Scored(1100, 1090, 1110), "d": Scored(1150, 1140, 1160), "z": Scored(900),
    }
    ratings = {"a": 1400.0, "b": 1400.0, "c": 1000.0, "d": 1000.0}
    boot = {"a": np.array([3.0, 1.0]), "b": np.array([2.0, 2.0]), "c": np.array([1.0, 1.0]),
            "d": np.array([0.0, 0.0])}
    m = reference_metrics(BENCH, boot, ref, ratings)
    assert m["models"] == 4
    assert m["missing_from_reference"] == []
    assert m["missing_from_bench"] == ["z"]
    # reference-separated pairs: ac ad bc bd dc; koarena: +1 +1 +1 +1, dc reversed −1
    assert m["reference_separated_pairs"] == 5
    assert m["agreement_with_confidence"] == pytest.approx(3 / 5)
    # ranks koarena a>b>c>d, reference a>b>d>c: Σd² = 2 → 1 − 6·2/(4·15)
    assert m["spearman"] == pytest.approx(0.8)
    assert m["kendall"] == pytest.approx(4 / 6)
    assert m["brier"] == pytest.approx((2 * 0.25 + 4 / 121) / 6)
    assert m["brier_pairs"] == 6
    # rank probabilities: ab ½, ac ¾ (a tie in round 2), ad 1, bc 1, bd 1, dc 0
    assert m["rank_brier"] == pytest.approx((0.25 + 0.0625 + 1) / 6)
