"""Per-topic win rates: how each model fares against the baseline within each question cluster.

A closed form, no model fit: within a cluster, a model's win rate is
(battles the model won + ½ · tied battles) / all its battles there, counted after the strong-win
weighting of `koarena.battles`, so it matches the raw win rate the leaderboard's battles imply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from koarena.battles import Battles


@dataclass(frozen=True)
class ClusterStat:
    """A model's weighted battle counts within one cluster."""

    wins: int
    ties: int
    battles: int

    @property
    def win_rate(self) -> float:
        """(wins + ½ ties) / battles, as a fraction in [0, 1]."""
        return (self.wins + 0.5 * self.ties) / self.battles


def cluster_win_rates(
    battles: Battles, cluster_of: Mapping[str, str]
) -> dict[str, dict[str, ClusterStat]]:
    """``{model: {cluster: ClusterStat}}`` for every model and cluster that has battles.

    ``cluster_of`` maps a question id to its cluster (e.g. the questions' ``ko_cluster``); a
    question missing from it, or mapped to an empty name, is left out. The model is the one in
    position B of each battle row (the side that is not the baseline).
    """
    clusters = sorted({c for c in cluster_of.values() if c})
    c_index = {c: i for i, c in enumerate(clusters)}
    q_cluster = np.array(
        [c_index.get(cluster_of.get(qid, ""), -1) for qid in battles.questions], dtype=np.int64
    )
    row_cluster = q_cluster[battles.q] if battles.q.size else np.zeros(0, dtype=np.int64)
    keep = row_cluster >= 0
    shape = (len(battles.models), len(clusters))
    wins = np.zeros(shape, dtype=np.int64)
    ties = np.zeros(shape, dtype=np.int64)
    total = np.zeros(shape, dtype=np.int64)
    rows_m = battles.b[keep]
    rows_c = row_cluster[keep]
    np.add.at(wins, (rows_m, rows_c), battles.n_b[keep])
    np.add.at(ties, (rows_m, rows_c), battles.n_tie[keep])
    np.add.at(total, (rows_m, rows_c), (battles.n_a + battles.n_b + battles.n_tie)[keep])
    out: dict[str, dict[str, ClusterStat]] = {}
    for mi, model in enumerate(battles.models):
        per = {
            c: ClusterStat(int(wins[mi, ci]), int(ties[mi, ci]), int(total[mi, ci]))
            for ci, c in enumerate(clusters)
            if total[mi, ci] > 0
        }
        if per:
            out[model] = per
    return out


def weakest(per: Mapping[str, ClusterStat], n: int) -> list[tuple[str, ClusterStat]]:
    """The ``n`` clusters of a model with the lowest win rate (more battles first on a tie,
    then by name).

    >>> [c for c, _ in weakest({"a": ClusterStat(1, 0, 2), "b": ClusterStat(0, 1, 4)}, 1)]
    ['b']
    """
    return sorted(per.items(), key=lambda kv: (kv[1].win_rate, -kv[1].battles, kv[0]))[:n]
