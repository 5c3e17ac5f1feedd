from __future__ import annotations

from analysis_synthetic import BIASED, HONEST, judgments

from koarena.analysis.positions import position_stats
from koarena.analysis.verdicts import judge_labels
from koarena.records import Game, Judgment


def test_position_stats_exact_counts() -> None:
    js = [
        # Consistent and exactly so: baseline wins both (game 2 mirrored).
        Judgment("q1", "m", "j", [Game("A>B"), Game("B>A")]),
        # Same winner (model), different strength.
        Judgment("q2", "m", "j", [Game("B>>A"), Game("A>B")]),
        # Inconsistent: the first-shown answer wins both games.
        Judgment("q3", "m", "j", [Game("A>B"), Game("A>B")]),
        # Two ties: exactly consistent.
        Judgment("q4", "m", "j", [Game("A=B"), Game("A=B")]),
        # One unknown label: only its labelled game counts for position bias.
        Judgment("q5", "m", "j", [Game("A>>B"), Game("garbage")]),
    ]
    s = position_stats(judge_labels("j", js))
    assert (s.judgments, s.consistent, s.consistent_exact) == (4, 3, 2)
    assert (s.games, s.first_wins, s.second_wins, s.ties) == (9, 5, 2, 2)
    assert s.consistency == 0.75
    assert s.exact_consistency == 0.5
    assert s.first_win_share == 5 / 9
    assert s.first_decisive_share == 5 / 7


def test_planted_position_bias_is_recovered() -> None:
    biased = position_stats(judge_labels(BIASED, judgments(BIASED)))
    # 4 of 20 questions per model answered "first shown wins" in both games.
    assert biased.consistency == 48 / 60
    assert (biased.first_wins, biased.second_wins) == (72, 48)
    assert biased.first_decisive_share == 0.6
    for judge in HONEST:
        honest = position_stats(judge_labels(judge, judgments(judge)))
        assert honest.consistency == 1.0
        assert honest.first_decisive_share == 0.5


def test_position_stats_without_judgments() -> None:
    s = position_stats(judge_labels("j", []))
    assert s.consistency is None
    assert s.first_decisive_share is None
