from __future__ import annotations

import pytest
from analysis_synthetic import BIASED, HONEST, judgments

from koarena.analysis.self_preference import (
    DEFAULT_FAMILIES,
    FamilyRule,
    model_self_preference,
    parse_family,
    self_preference,
)
from koarena.battles import Battles, build_battles
from koarena.errors import ConfigError
from koarena.records import Game, Judgment


def _battles() -> dict[str, Battles]:
    return {j: build_battles(judgments(j), "base", judges=[j]) for j in (BIASED, *HONEST)}


def test_planted_self_preference_is_recovered() -> None:
    rows = {(r.judge, r.model): r for r in self_preference(_battles(), rounds=500, seed=1)}
    # Every judge has a family rule and one model of its family.
    assert set(rows) == {
        (BIASED, "gpt-x"),
        ("gemini-2.0-flash-001", "gemini-y"),
        ("deepseek-chat-v3-0324", "deepseek-w"),
    }
    planted = rows[(BIASED, "gpt-x")]
    # Under the planted judge gpt-x wins 16 questions outright and 1 of 2 games on the 4
    # position-biased ones: 36 of 40 battles; the honest judges give it 20 of 40.
    assert planted.win_rate_self == 90.0
    assert planted.win_rate_others == 50.0
    assert planted.difference == 40.0
    assert planted.other_judges == sorted(HONEST)
    assert planted.questions == 20
    assert 0.0 < planted.lower < 40.0 < planted.upper
    for key in [("gemini-2.0-flash-001", "gemini-y"), ("deepseek-chat-v3-0324", "deepseek-w")]:
        r = rows[key]
        assert r.difference == 0.0
        assert r.lower <= 0.0 <= r.upper


def test_self_preference_exact_on_tiny_data() -> None:
    own = [Judgment("q1", "gpt-a", "gpt-4o-mini", [Game("B>>A"), Game("A=B")])]
    other = [Judgment("q1", "gpt-a", "other", [Game("A>B"), Game("B>A")])]
    battles = {
        "gpt-4o-mini": build_battles(own, "base"),
        "other": build_battles(other, "base"),
    }
    r = model_self_preference("gpt-4o-mini", "gpt-a", battles, rounds=10, seed=0)
    assert r is not None
    # Own judge: a strong win (3 battles) and a tie: (3 + 0.5) / 4. Other judge: 0 of 2.
    assert r.win_rate_self == 87.5
    assert r.win_rate_others == 0.0
    # One question: every bootstrap round draws it, so the interval is the point.
    assert (r.lower, r.upper) == (87.5, 87.5)


def test_no_self_preference_without_other_judges() -> None:
    battles = {BIASED: build_battles(judgments(BIASED), "base")}
    assert self_preference(battles) == []


def test_family_rules() -> None:
    assert parse_family("gpt-4o-mini*=gpt-*, o1-*") == FamilyRule("gpt-4o-mini*", ("gpt-*", "o1-*"))
    for bad in ["gpt-*", "=gpt-*", "gpt-4o-mini="]:
        with pytest.raises(ConfigError):
            parse_family(bad)
    gemini = DEFAULT_FAMILIES[1]
    assert gemini.matches_judge("gemini-2.0-flash-001")
    assert gemini.matches_model("gemini-2.5-pro-exp-03-25")
    assert not gemini.matches_model("gemma-3-27b-it")
