from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from koarena.analysis.separability import (
    Scored,
    agreement_with_confidence,
    pair_rank_brier,
    read_reference,
    reference_metrics,
    separability,
    spearman,
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
