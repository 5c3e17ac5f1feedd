from __future__ import annotations

import pytest
from analysis_synthetic import BIASED, HONEST, judgments

from koarena.analysis.agreement import cohen_kappa, judge_agreement
from koarena.analysis.verdicts import judge_labels
from koarena.records import Game, Judgment


def test_cohen_kappa_exact() -> None:
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == 0.5
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0
    assert cohen_kappa(["a", "b"], ["b", "a"]) == -1.0
    # All items in one category for both raters: chance agreement is 1, kappa undefined.
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError):
        cohen_kappa(["a"], [])


def test_agreement_only_over_games_both_labelled() -> None:
    a = judge_labels("a", [
        Judgment("q1", "m", "a", [Game("A>>B"), Game("B>A")]),
        Judgment("q2", "m", "a", [Game("A=B"), Game(None)]),
        Judgment("q3", "m", "a", [Game("B>A"), Game("A>B")]),
    ])
    b = judge_labels("b", [
        Judgment("q1", "m", "b", [Game("A>B"), Game("B>A")]),
        Judgment("q2", "m", "b", [Game("A=B"), Game("A>B")]),
        # q3 only judged by a; q4 only by b.
        Judgment("q4", "m", "b", [Game("A>B"), Game("B>A")]),
    ])
    s = judge_agreement(a, b)
    # Common labelled games: q1 g1 (A>>B vs A>B), q1 g2 (B>A, B>A), q2 g1 (A=B, A=B).
    assert s.games == 3
    assert s.exact == 2 / 3
    assert s.winner == 1.0
    assert s.winner_kappa == 1.0
    # Exact labels: a = [A>>B, B>A, A=B], b = [A>B, B>A, A=B]; pe = 2/9.
    assert s.kappa == pytest.approx((2 / 3 - 2 / 9) / (1 - 2 / 9))


def test_planted_judge_disagrees_with_honest_judges() -> None:
    biased = judge_labels(BIASED, judgments(BIASED))
    honest = [judge_labels(j, judgments(j)) for j in HONEST]
    s = judge_agreement(biased, honest[0])
    # 12 position-biased games + 16 self-preferred odd questions × 2 games differ, of 120.
    assert s.games == 120
    assert s.exact == 92 / 120
    assert s.winner == 92 / 120
    # Label frequencies: biased A>B 72 / B>A 48, honest 60 / 60: chance agreement 0.5.
    assert s.kappa == pytest.approx(8 / 15)
    h = judge_agreement(honest[0], honest[1])
    assert (h.exact, h.kappa) == (1.0, 1.0)
