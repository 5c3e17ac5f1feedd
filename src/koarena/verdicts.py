"""The verdict vocabulary: labels, how game 2 is mirrored, strong-win weight, ensemble scores
and the browse codes, defined once for the judge, the statistics, the report and the fake
server. Pure Python (no numpy): the judging path imports it.

A judge compares assistant A with assistant B and writes one of five labels. Game 1 shows the
baseline as A and the model as B; game 2 swaps them, so its label is read mirrored.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
"""The verdict labels, from A's strongest win to B's (the fake judge draws from them in this
order)."""

DEFAULT_WEIGHT = 3
"""How many battles a strong win (``>>``) counts for, as in the published leaderboard."""


class Winner(Enum):
    A = "A"
    B = "B"
    TIE = "tie"


VERDICTS: dict[str, tuple[Winner, bool]] = {
    "A>>B": (Winner.A, True),
    "A>B": (Winner.A, False),
    "A=B": (Winner.TIE, False),
    "B>A": (Winner.B, False),
    "B>>A": (Winner.B, True),
}
"""Verdict label → (winning position, strong win)."""

V2_SPELLINGS = {"A<B": "B>A", "A<<B": "B>>A", "B<A": "A>B", "B<<A": "A>>B", "B=A": "A=B"}
"""Arena-Hard v2.0's ``show_result.py`` also scores these: the same verdicts written from the
other side. Only its category leaderboards read them (`koarena.battles.build_battles`)."""

_MIRROR = {Winner.A: Winner.B, Winner.B: Winner.A, Winner.TIE: Winner.TIE}

SCORES = {"A>>B": 2, "A>B": 1, "A=B": 0, "B>A": -1, "B>>A": -2}
"""A label as a number, for averaging the judges of an ensemble."""

CODES = {"A>>B": "a", "A>B": "b", "A=B": "c", "B>A": "d", "B>>A": "e"}
"""One character per game label in the report's browse index."""
NO_GAME = "-"
"""The browse code of a game without a known label."""


def is_label(label: str | None) -> bool:
    """Whether ``label`` is one of the five verdict labels.

    >>> is_label("A>B"), is_label("[[A>B]]"), is_label(None)
    (True, False, False)
    """
    return label is not None and label in VERDICTS


def game_outcome(label: str | None, game_index: int) -> tuple[Winner, bool] | None:
    """Who won a game from the baseline's point of view: A = baseline, B = the model.

    Game 0 shows the baseline as assistant A; game 1 shows it as B, so its label is mirrored.
    Returns None for a missing or unknown label.

    >>> game_outcome("A>>B", 0)
    (<Winner.A: 'A'>, True)
    >>> game_outcome("A>>B", 1)
    (<Winner.B: 'B'>, True)
    >>> game_outcome("[[A>B]]", 0) is None
    True
    """
    if label is None or label not in VERDICTS:
        return None
    winner, strong = VERDICTS[label]
    if game_index == 1:
        winner = _MIRROR[winner]
    return winner, strong


def label_of(mean: float) -> str:
    """The label of an averaged score.

    >>> [label_of(x) for x in (2, 1.5, 1, 0.5, 0, -0.5, -1, -1.5)]
    ['A>>B', 'A>>B', 'A>B', 'A>B', 'A=B', 'B>A', 'B>A', 'B>>A']
    """
    if mean == 0:
        return "A=B"
    if 0 < mean <= 1:
        return "A>B"
    if mean > 1:
        return "A>>B"
    if -1 <= mean < 0:
        return "B>A"
    return "B>>A"


def combine_game(labels: Sequence[str | None]) -> str | None:
    """The ensemble label of one game, or None if no judge gave a valid label.

    >>> combine_game(["A>>B", "A=B", None, "junk"])
    'A>B'
    """
    valid = [SCORES[x] for x in labels if x is not None and x in SCORES]
    if not valid:
        return None
    return label_of(sum(valid) / len(valid))


def game_code(label: str | None) -> str:
    """The browse code of one game's label.

    >>> game_code("B>A"), game_code(None)
    ('d', '-')
    """
    return CODES.get(label or "", NO_GAME)
