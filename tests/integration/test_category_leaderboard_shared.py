"""Category leaderboards on a slice of the shared Arena-Hard v2.0 questions and baseline answers
equal v2.0's show_result.py definitions (the verdicts are synthetic: no v2.0 judgments are
shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from koarena.bench import Bench
from koarena.controls import Control
from koarena.jsonl import iter_jsonl, write_jsonl_atomic
from koarena.leaderboard import compute_category_leaderboards
from v2_bench import write_bench
from v2_original import exploded, mean_scores, style_win_rates

V2 = "arena-hard-v2.0"
O3 = "o3-mini-2025-01-31"


def test_sliced_v2_equals_original(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / V2
    questions = [r for _, r in iter_jsonl(src / "question.jsonl")]
    hard = [q for q in questions if q["category"] == "hard_prompt"][:40]
    creative = [q for q in questions if q["category"] == "creative_writing"][:30]
    sliced = hard + creative
    uids = {q["uid"] for q in sliced}
    real = [r for _, r in iter_jsonl(src / "model_answer" / f"{O3}.jsonl") if r["uid"] in uids]
    assert len(real) == 70
    cats = yaml.safe_load((src / "judge_settings.yaml").read_text())["categories"]
    settings = {c: (v["baseline"], v["system_prompt"]) for c, v in cats.items()}
    written = write_bench(
        tmp_path / V2, sliced, ["new-model-a", "new-model-b"], seed=11,
        metas={O3: {r["uid"]: r["metadata"] for r in real}}, settings=settings,
    )
    write_jsonl_atomic(tmp_path / V2 / "model_answer" / f"{O3}.jsonl", real)
    boards = compute_category_leaderboards(
        Bench(tmp_path, V2), [Control.NONE, Control.STYLE], judges=["jx"], rounds=0
    )
    assert list(boards) == ["hard_prompt", "creative_writing"]
    for category in boards:
        baseline = cats[category]["baseline"]
        rows = exploded(j for j in written["judgments"] if j["category"] == category)
        plain, styled = boards[category][Control.NONE], boards[category][Control.STYLE]
        assert plain.baseline == styled.baseline == baseline
        for model, score in mean_scores(rows).items():
            assert plain.row(model).score == round(100 * score, 2)
        for model, p in style_win_rates(rows, written["metadata"], baseline).items():
            assert styled.row(model).score == pytest.approx(100 * p, abs=0.005 + 1e-6)
