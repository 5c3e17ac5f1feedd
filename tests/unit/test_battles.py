from __future__ import annotations

import numpy as np
import pytest

from koarena.battles import build_battles
from koarena.records import Game, Judgment
from koarena.verdicts import Winner, game_outcome


def J(model: str, qid: str, *labels: str | None) -> Judgment:
    return Judgment(
        question_id=qid,
        model=model,
        judge="j",
        games=[Game(score=x) for x in labels],
    )


@pytest.mark.parametrize(
    ("label", "game", "expected"),
    [
        ("A>>B", 0, (Winner.A, True)),
        ("A>B", 0, (Winner.A, False)),
        ("A=B", 0, (Winner.TIE, False)),
        ("B>A", 0, (Winner.B, False)),
        ("B>>A", 0, (Winner.B, True)),
        ("A>>B", 1, (Winner.B, True)),
        ("A>B", 1, (Winner.B, False)),
        ("A=B", 1, (Winner.TIE, False)),
        ("B>A", 1, (Winner.A, False)),
        ("B>>A", 1, (Winner.A, True)),
        ("A<B", 0, None),
        ("", 1, None),
        (None, 0, None),
    ],
)
def test_game_outcome_reads_game_two_mirrored(
    label: str | None, game: int, expected: tuple[Winner, bool] | None
) -> None:
    assert game_outcome(label, game) == expected


def test_build_battles_counts_weights_ties_and_orientation() -> None:
    judgments = [
        # game 1: baseline (A) strongly better; game 2: A (= the model) strongly better
        J("m1", "q1", "A>>B", "A>>B"),
        # game 1: tie; game 2: B (= baseline) slightly better
        J("m1", "q2", "A=B", "B>A"),
        # game 1: model (B) slightly better; game 2 unknown label → dropped
        J("m2", "q1", "B>A", "garbage"),
        # both games unusable → no battle row at all, two drops
        J("m2", "q2", None, "[[A>B]]"),
    ]
    b = build_battles(judgments, "base", weight=3)
    assert b.models == ["base", "m1", "m2"]
    assert b.questions == ["q1", "q2"]
    assert b.b.tolist() == [1, 1, 2]
    assert b.a.tolist() == [0, 0, 0]
    assert b.n_a.tolist() == [3, 1, 0]
    assert b.n_b.tolist() == [3, 0, 1]
    assert b.n_tie.tolist() == [0, 1, 0]
    assert b.n_battles == 9
    assert dict(b.dropped) == {"m2": 3}


def test_weight_and_first_game_only() -> None:
    judgments = [J("m", "q", "B>>A", "B>>A")]
    both = build_battles(judgments, "base", weight=5)
    assert (both.n_a.tolist(), both.n_b.tolist()) == ([5], [5])
    first = build_battles(judgments, "base", weight=2, first_game_only=True)
    assert (first.n_a.tolist(), first.n_b.tolist()) == ([0], [2])


def test_lone_game_is_read_again_as_game_two_like_the_original() -> None:
    # game 1 "A>B": baseline wins; re-read as game 2 (mirrored): the model wins
    b = build_battles([J("m", "q", "A>B")], "base")
    assert (b.n_a.tolist(), b.n_b.tolist(), dict(b.dropped)) == ([1], [1], {})


def test_lone_game_dropped_when_asked() -> None:
    b = build_battles([J("m", "q", "A>B")], "base", reuse_lone_game=False)
    assert (b.n_a.tolist(), b.n_b.tolist(), dict(b.dropped)) == ([1], [0], {"m": 1})


def test_weight_must_be_positive() -> None:
    with pytest.raises(ValueError, match="weight"):
        build_battles([], "base", weight=0)


def test_empty_input_gives_empty_arrays() -> None:
    b = build_battles([], "base")
    assert b.a.dtype == np.int64
    assert b.n_battles == 0
