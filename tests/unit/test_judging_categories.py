"""Planning a judging run on a bench with categories (Arena-Hard v2.0): each question against
its category's baseline, with its category's system prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

from koarena.bench import Bench
from koarena.categories import CategorySetting
from koarena.errors import DataError
from koarena.jsonl import append_jsonl
from koarena.judge_protocol import JudgeProtocol
from koarena.judging import plan_judging
from koarena.records import Answer, Question

PROTOCOL = JudgeProtocol(system_prompt="unused",
                         prompt_template=("{QUESTION}|{ANSWER_A}|{ANSWER_B}",))
CATEGORIES = {
    "hard_prompt": CategorySetting("hard_prompt", "hard-base", "judge hard"),
    "creative_writing": CategorySetting("creative_writing", "creative-base", "judge stories"),
}


def make_bench(tmp_path: Path, creative_base_answers: int = 2) -> Bench:
    bench = Bench(tmp_path, "v2")
    qs = [Question(f"h{i}", [f"hard {i}"], category="hard_prompt", subcategory="math")
          for i in range(2)]
    qs += [Question(f"c{i}", [f"story {i}"], category="creative_writing") for i in range(2)]
    append_jsonl(bench.question_file, [q.to_dict() for q in qs])
    append_jsonl(bench.answer_file("hard-base"),
                 [Answer(f"h{i}", "hard-base", [f"hb{i}"]).to_dict() for i in range(2)])
    append_jsonl(bench.answer_file("creative-base"),
                 [Answer(f"c{i}", "creative-base", [f"cb{i}"]).to_dict()
                  for i in range(creative_base_answers)])
    append_jsonl(bench.answer_file("m"),
                 [Answer(q.question_id, "m", [f"m-{q.question_id}"]).to_dict() for q in qs])
    return bench


def test_each_question_uses_its_categorys_baseline_and_prompt(tmp_path: Path) -> None:
    plan = plan_judging(make_bench(tmp_path), PROTOCOL, {"j": "j"}, ["m"], None,
                        categories=CATEGORIES)
    assert plan.missing_baselines == []
    by_q = {t.key: t for t in plan.tasks}
    assert sorted(by_q) == ["c0", "c1", "h0", "h1"]
    g1, g2 = by_q["c1"].games()
    assert [m.content for m in g1] == ["judge stories", "story 1|cb1|m-c1"]
    assert [m.content for m in g2] == ["judge stories", "story 1|m-c1|cb1"]
    g1, _ = by_q["h0"].games()
    assert [m.content for m in g1] == ["judge hard", "hard 0|hb0|m-h0"]
    fields = by_q["c0"].identity.record_fields(by_q["c0"].protocol)
    assert (fields["baseline"], fields["category"]) == ("creative-base", "creative_writing")
    assert fields["prompt_hash"] != by_q["h0"].identity.record_fields(by_q["h0"].protocol)[
        "prompt_hash"]
    assert [(c, len(ts)) for c, ts in plan.by_category().items()] == [
        ("hard_prompt", 2), ("creative_writing", 2)]


def test_missing_baseline_answers_are_reported_per_category(tmp_path: Path) -> None:
    plan = plan_judging(make_bench(tmp_path, creative_base_answers=1), PROTOCOL, {"j": "j"},
                        ["m"], None, categories=CATEGORIES)
    [missing] = plan.missing_baselines
    assert (missing.category, missing.baseline, missing.missing, missing.questions) == (
        "creative_writing", "creative-base", 1, 2)
    assert sorted(t.key for t in plan.tasks) == ["c0", "h0", "h1"]
    assert plan.skipped == {"m": {"baseline answer missing": ["c1"]}}


def test_a_category_without_settings_is_bad_input(tmp_path: Path) -> None:
    bench = make_bench(tmp_path)
    with pytest.raises(DataError, match="question c0: category 'creative_writing' has no "
                       r"judge settings \(settings exist for: hard_prompt\)"):
        plan_judging(bench, PROTOCOL, {"j": "j"}, ["m"], None,
                     categories={"hard_prompt": CATEGORIES["hard_prompt"]})
