from __future__ import annotations

from koarena.battles import build_battles
from koarena.clusters import ClusterStat, cluster_win_rates
from koarena.records import Game, Judgment


def _j(qid: str, model: str, g1: str | None, g2: str | None) -> Judgment:
    return Judgment(qid, model, "judge", [Game(g1), Game(g2)])


def test_cluster_win_rates_closed_form() -> None:
    judgments = [
        # m1 in cluster x: game 1 B>A = model win; game 2 B>A mirrored = baseline win.
        _j("q1", "m1", "B>A", "B>A"),
        # m1 in cluster x: strong model win in game 1 (weight 3), tie in game 2.
        _j("q2", "m1", "B>>A", "A=B"),
        # m1 in cluster y: both games won by the baseline.
        _j("q3", "m1", "A>B", "B>A"),
        # m2 in cluster y: one tie, one dropped game.
        _j("q3", "m2", "A=B", "garbage"),
        # q4 has no cluster: left out.
        _j("q4", "m2", "B>A", "A>B"),
    ]
    battles = build_battles(judgments, "base", weight=3)
    rates = cluster_win_rates(battles, {"q1": "x", "q2": "x", "q3": "y", "q4": ""})
    assert rates == {
        "m1": {"x": ClusterStat(wins=4, ties=1, battles=6), "y": ClusterStat(0, 0, 2)},
        "m2": {"y": ClusterStat(wins=0, ties=1, battles=1)},
    }
    assert rates["m1"]["x"].win_rate == 4.5 / 6
    assert rates["m1"]["y"].win_rate == 0.0
    assert rates["m2"]["y"].win_rate == 0.5


def test_cluster_win_rates_empty() -> None:
    battles = build_battles([], "base")
    assert cluster_win_rates(battles, {"q1": "x"}) == {}
