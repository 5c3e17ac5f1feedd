"""The verdict vocabulary: one set of labels behind every table, and its doctests."""

from __future__ import annotations

import doctest

import pytest

from koarena import verdicts
from koarena.records import Game, Judgment
from koarena.verdicts import CODES, LABELS, SCORES, VERDICTS, game_code, is_label


def test_doctests() -> None:
    result = doctest.testmod(verdicts)
    assert result.attempted == 7
    assert result.failed == 0


def test_every_table_covers_exactly_the_labels() -> None:
    assert LABELS == ("A>>B", "A>B", "A=B", "B>A", "B>>A")
    assert list(VERDICTS) == list(SCORES) == list(CODES) == list(LABELS)
    assert [SCORES[x] for x in LABELS] == [2, 1, 0, -1, -2]
    assert "".join(CODES[x] for x in LABELS) == "abcde"


@pytest.mark.parametrize(("label", "known", "code"), [
    ("A>>B", True, "a"), ("B>>A", True, "e"), ("A>B ", False, "-"), ("", False, "-"),
    (None, False, "-"),
])
def test_is_label_and_game_code(label: str | None, known: bool, code: str) -> None:
    assert is_label(label) is known
    assert game_code(label) == code


def test_judgment_game_and_label_accessors() -> None:
    j = Judgment("q", "m", "judge", games=[None, Game("A>B")])
    assert j.game(0) is None
    assert j.game(1) == Game("A>B")
    assert j.game(2) is None
    assert j.game(-1) is None
    assert [j.label(i) for i in range(3)] == [None, "A>B", None]
    assert Judgment("q", "m", "judge", games=[Game(None)]).label(0) is None
