"""Per-category leaderboards equal Arena-Hard v2.0's show_result.py on the same judgments."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from koarena.analysis import AnalyzeOptions, analyze
from koarena.bench import Bench
from koarena.controls import Control
from koarena.errors import DataError
from koarena.jsonl import write_jsonl_atomic
from koarena.leaderboard import Leaderboard, compute_category_leaderboards
from v2_bench import judgment, synthetic_questions, write_bench
from v2_original import exploded, mean_scores, style_win_rates

MODELS = ("m-one", "m-two", "m-three")


Synthetic = tuple[Bench, dict[str, Any]]
"""The ``synthetic`` fixture: the bench and what `write_bench` wrote."""


def unrounded(board: Leaderboard, model: str) -> float:
    """The win rate (%) behind a row's rounded score, from its unrounded Elo-scale rating."""
    base = board.row(board.baseline).rating
    return float(100.0 / (1.0 + 10.0 ** ((base - board.row(model).rating) / 400.0)))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    data = tmp_path_factory.mktemp("v2") / "data"
    written = write_bench(data / "syn-v2", synthetic_questions(), MODELS, seed=3)
    return Bench(data, "syn-v2"), written


def test_no_control_equals_original_mean_score(synthetic: Synthetic) -> None:
    bench, written = synthetic
    boards = compute_category_leaderboards(bench, [Control.NONE], judges=["jx"], rounds=0)
    assert list(boards) == ["hard_prompt", "creative_writing"]
    for category, baseline in (("hard_prompt", "base-h"), ("creative_writing", "base-c")):
        board = boards[category][Control.NONE]
        assert board.baseline == baseline and board.category == category
        rows = exploded(j for j in written["judgments"] if j["category"] == category)
        expected = mean_scores(rows)
        assert sorted(expected) == sorted(MODELS)
        for model, score in expected.items():
            assert unrounded(board, model) == pytest.approx(100 * score, abs=1e-9)
            assert board.row(model).score == round(100 * score, 2)
        assert board.row(baseline).score == 50.0


def test_subcategory_board_uses_its_questions(synthetic: Synthetic) -> None:
    bench, written = synthetic
    boards = compute_category_leaderboards(
        bench, [Control.NONE], categories=["coding"], judges=["jx"], rounds=0
    )
    board = boards["coding"][Control.NONE]
    coding = {f"h{i:03d}" for i in range(24) if i % 2}
    expected = mean_scores(exploded(j for j in written["judgments"] if j["uid"] in coding))
    for model, score in expected.items():
        assert unrounded(board, model) == pytest.approx(100 * score, abs=1e-9)


def test_style_control_equals_original_definition(synthetic: Synthetic) -> None:
    bench, written = synthetic
    boards = compute_category_leaderboards(
        bench, [Control.STYLE], categories=["creative_writing", "hard_prompt"],
        judges=["jx"], rounds=0,
    )
    assert list(boards) == ["creative_writing", "hard_prompt"]
    for category, baseline in (("hard_prompt", "base-h"), ("creative_writing", "base-c")):
        rows = exploded(j for j in written["judgments"] if j["category"] == category)
        expected = style_win_rates(rows, written["metadata"], baseline)
        board = boards[category][Control.STYLE]
        for model, p in expected.items():
            assert unrounded(board, model) == pytest.approx(100 * p, abs=1e-5)
        # Not the same numbers as without control: the covariates matter here.
        plain = mean_scores(rows)
        assert any(abs(expected[m] - plain[m]) > 1e-3 for m in MODELS)


def test_hand_computed_scores(tmp_path: Path) -> None:
    questions = synthetic_questions(n_hard=2, n_creative=1)
    write_bench(tmp_path / "b", questions, ["m"], seed=0)
    # Overwrite the judgments with hand-picked ones: h000 scores [1] + [0, 0, 0] (game 2 the
    # model as A wins, game 1 the baseline as A wins strongly); h001 scores [0.5] + [1]; c000
    # has a null game and is left out, so creative_writing has no verdicts.
    rows = [
        judgment(questions[0], "m", "base-h", "A>>B", "A>B"),
        judgment(questions[1], "m", "base-h", "B<A", "B=A"),
        judgment(questions[2], "m", "base-c", None, "A>B"),
    ]
    rows[1]["games"][0]["score"] = "A<B"
    write_jsonl_atomic(tmp_path / "b" / "model_judgment" / "jx" / "m.jsonl", rows)
    bench = Bench(tmp_path, "b")
    board = compute_category_leaderboards(
        bench, [Control.NONE], categories=["hard_prompt"], judges=["jx"], rounds=0
    )["hard_prompt"][Control.NONE]
    # rows: [1, 0, 0, 0] and [0.5, 1 - 0] -> (1 + 0.5 + 1) / 6
    assert unrounded(board, "m") == pytest.approx(100 * 2.5 / 6, abs=1e-9)
    assert board.row("m").score == 41.67
    assert math.isclose(board.n_battles, 6)
    with pytest.raises(DataError, match="'creative_writing': no valid verdicts"):
        compute_category_leaderboards(bench, [Control.NONE], categories=["creative_writing"],
                                      judges=["jx"], rounds=0)


def test_unknown_category_is_named(synthetic: Synthetic) -> None:
    bench, _ = synthetic
    with pytest.raises(DataError, match=r"category 'poetry' is not in this bench \(categories: "
                       r"hard_prompt, coding, math, creative_writing\)"):
        compute_category_leaderboards(bench, [Control.NONE], categories=["poetry"],
                                      judges=["jx"], rounds=0)


def test_unpenalised_style_fit_on_too_few_battles_is_bad_input(tmp_path: Path) -> None:
    # One model on two questions: 2 battle rows cannot determine 4 style coefficients.
    questions = synthetic_questions(n_hard=2, n_creative=0)
    write_bench(tmp_path / "b", questions, ["m"], seed=1)
    rows = [judgment(q, "m", "base-h", "A>B", "A>B") for q in questions]
    write_jsonl_atomic(tmp_path / "b" / "model_judgment" / "jx" / "m.jsonl", rows)
    with pytest.raises(DataError, match="style-controlled fit is singular"):
        compute_category_leaderboards(Bench(tmp_path, "b"), [Control.STYLE], judges=["jx"],
                                      rounds=0)


def test_analyze_one_category_against_its_baseline(
    synthetic: Synthetic, tmp_path: Path
) -> None:
    bench, written = synthetic
    ref = tmp_path / "ref.csv"
    ref.write_text("model,score\nm-one,3\nm-two,2\nm-three,1\n", encoding="utf-8")
    result = analyze(bench, AnalyzeOptions(category="creative_writing", rounds=20,
                                           self_preference_rounds=20, reference=ref))
    assert (result["category"], result["baseline"]) == ("creative_writing", "base-c")
    sep = result["separability"]["controls"]["none"]
    board = {r["model"]: r["score"] for r in sep["leaderboard"]}
    assert sorted(board) == ["base-c", "m-one", "m-three", "m-two"]
    expected = mean_scores(exploded(j for j in written["judgments"]
                                    if j["category"] == "creative_writing"))
    assert {m: board[m] for m in expected} == {m: round(100 * s, 2) for m, s in expected.items()}
    assert sep["reference"]["models"] == 3
    # only the category's judgments are analysed: those with both games in the five labels
    five = {"A>>B", "A>B", "A=B", "B>A", "B>>A"}
    [positions] = result["position_consistency"]["judges"]
    assert positions["judgments"] == sum(
        1 for j in written["judgments"]
        if j["category"] == "creative_writing"
        and all(g is not None and g["score"] in five for g in j["games"])
    )
