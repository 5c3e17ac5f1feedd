"""Position consistency and position bias of a judge.

A judgment is consistent when its two games name the same winner once game 2 (baseline shown
second) is mirrored; exactly consistent when the strength (``>`` or ``>>``) agrees as well.
Position bias is read from the games as shown: the share of labelled games won by whichever
answer was shown first (assistant A). An unbiased judge gives first and second place the same
share of the decisive games.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from koarena.analysis.verdicts import JudgeLabels
from koarena.verdicts import VERDICTS, Winner, game_outcome


@dataclass(frozen=True)
class PositionStats:
    """Counts behind a judge's position consistency and bias."""

    judge: str
    judgments: int
    consistent: int
    consistent_exact: int
    games: int
    first_wins: int
    second_wins: int
    ties: int

    @property
    def consistency(self) -> float | None:
        """Share of judgments (both games labelled) whose games agree on the winner."""
        return self.consistent / self.judgments if self.judgments else None

    @property
    def exact_consistency(self) -> float | None:
        """Share of judgments whose games agree on winner and strength."""
        return self.consistent_exact / self.judgments if self.judgments else None

    @property
    def first_win_share(self) -> float | None:
        """Share of labelled games won by the answer shown first."""
        return self.first_wins / self.games if self.games else None

    @property
    def first_decisive_share(self) -> float | None:
        """Share of decisive (non-tie) games won by the answer shown first; 0.5 = no bias."""
        decisive = self.first_wins + self.second_wins
        return self.first_wins / decisive if decisive else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "consistency": self.consistency,
            "exact_consistency": self.exact_consistency,
            "first_win_share": self.first_win_share,
            "first_decisive_share": self.first_decisive_share,
        }


def position_stats(labels: JudgeLabels) -> PositionStats:
    """Position consistency and bias of one judge."""
    judgments = consistent = exact = 0
    shown = {Winner.A: 0, Winner.B: 0, Winner.TIE: 0}
    for g1, g2 in labels.games.values():
        for label in (g1, g2):
            if label is not None:
                shown[VERDICTS[label][0]] += 1
        o1 = game_outcome(g1, 0)
        o2 = game_outcome(g2, 1)
        if o1 is None or o2 is None:
            continue
        judgments += 1
        if o1[0] is o2[0]:
            consistent += 1
            # A tie has no strength; two ties agree exactly.
            if o1[1] == o2[1]:
                exact += 1
    return PositionStats(
        judge=labels.judge,
        judgments=judgments,
        consistent=consistent,
        consistent_exact=exact,
        games=sum(shown.values()),
        first_wins=shown[Winner.A],
        second_wins=shown[Winner.B],
        ties=shown[Winner.TIE],
    )
