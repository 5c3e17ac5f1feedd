"""`analysis_page_data`: what analysis.html receives of an `analyze()` result."""

from __future__ import annotations

import copy
from typing import Any

from koarena.report.analysis_page import analysis_page_data

UNAVAILABLE = {"available": False, "reason": "needs two judges"}


def _result() -> dict[str, Any]:
    return {
        "bench": "b",
        "judges": ["j1", "j2"],
        "leaderboard_judges": ["j1"],
        "baseline": "base",
        "seed": 42,
        "position_consistency": {"available": True, "judges": [{"judge": "j1", "judgments": 3}]},
        "judge_agreement": {"available": True, "pairs": [{"judge_a": "j1", "judge_b": "j2"}]},
        "self_preference": {**UNAVAILABLE, "families": {"g*": ["g-*"]}},
        "separability": {
            "available": True,
            "judges": ["j1"],
            "rounds": 10,
            "controls": {
                "none": {"models": 2, "pairs": 1, "separated_pairs": 1, "separability": 1.0,
                         "leaderboard": [{"model": "m", "score": 60.0}]},
            },
        },
        "clusters": {
            "available": True,
            "clusters": 2,
            "models": {
                "m": {"clusters": {"가": {"win_rate": 20.0, "battles": 4},
                                   "나": {"win_rate": 70.0, "battles": 6}},
                      "weakest": [{"cluster": "가", "win_rate": 20.0, "battles": 4}]},
            },
        },
        "korean_fidelity": {
            "available": True,
            "baseline": "base",
            "models": [{"model": "m", "not_korean": 1, "not_korean_questions": ["q1"]}],
        },
    }


def test_bulky_parts_are_left_out() -> None:
    result = _result()
    before = copy.deepcopy(result)
    page = analysis_page_data(result, ["m"])
    assert result == before
    assert page == {
        **{k: result[k] for k in ("bench", "judges", "leaderboard_judges", "baseline", "seed",
                                  "position_consistency", "judge_agreement", "self_preference")},
        "browse_models": ["m"],
        "scripts": ["han", "kana", "cyrillic", "thai", "arabic", "hebrew", "devanagari"],
        "separability": {
            "available": True, "judges": ["j1"], "rounds": 10,
            "controls": {"none": {"models": 2, "pairs": 1, "separated_pairs": 1,
                                  "separability": 1.0}},
        },
        "clusters": {
            "available": True, "clusters": 2,
            "models": {"m": {"weakest": [{"cluster": "가", "win_rate": 20.0, "battles": 4}]}},
        },
        "korean_fidelity": {
            "available": True, "baseline": "base", "models": [{"model": "m", "not_korean": 1}],
        },
    }


def test_unavailable_sections_keep_their_reason() -> None:
    result = _result()
    for key in ("separability", "clusters", "korean_fidelity"):
        result[key] = UNAVAILABLE
    page = analysis_page_data(result, [])
    for key in ("separability", "clusters", "korean_fidelity", "self_preference"):
        assert page[key]["available"] is False
        assert page[key]["reason"] == "needs two judges"
    assert page["self_preference"]["families"] == {"g*": ["g-*"]}
