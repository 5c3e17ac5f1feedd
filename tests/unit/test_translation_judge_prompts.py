"""Korean judge prompts for each v2.0 category, made from the Korean v0.1 prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from koarena.errors import ConfigError
from koarena.translation.judge_prompts import (
    Edit,
    apply_edits,
    korean_edits,
    korean_judge_settings,
)


@pytest.fixture(scope="module")
def prompts(shared_data: Path) -> tuple[dict[str, Any], str]:
    settings = yaml.safe_load(
        (shared_data / "arena-hard-v2.0" / "judge_settings.yaml").read_text("utf-8"))
    korean = yaml.safe_load(
        (shared_data / "ko-arena-hard-v0.1" / "judge_config.yaml").read_text("utf-8"))
    return settings, korean["system_prompt"]


def test_the_seed_edits_are_one_paragraph_added_and_one_changed(
        prompts: tuple[dict[str, Any], str]) -> None:
    settings, korean = prompts
    english = settings["categories"]["arena-hard-v0.1"]["system_prompt"]
    edits = korean_edits(english, korean)
    assert len(edits) == 1
    (edit,) = edits
    assert [p[:40] for p in edit.old] == ["Then consider if the assistant's answers"]
    assert [p[:40] for p in edit.new] == ["For this specific scenario, you must pay",
                                          "Then consider if the assistant's answers"]
    assert apply_edits(english, edits, "v0.1") == korean


def test_every_v2_category_gets_the_korean_instructions_and_keeps_its_own(
        prompts: tuple[dict[str, Any], str]) -> None:
    settings, korean = prompts
    cats = settings["categories"]
    edits = korean_edits(cats["arena-hard-v0.1"]["system_prompt"], korean)
    out = korean_judge_settings(settings, edits)
    assert settings["categories"]["math"]["system_prompt"] == (
        cats["math"]["system_prompt"])  # the input is not changed
    for name, cat in out["categories"].items():
        src = cats[name]["system_prompt"]
        ko = cat["system_prompt"]
        assert cat["baseline"] == cats[name]["baseline"]
        # Exactly the seed's change: the English paragraph out, the two Korean ones in.
        removed = set(src.split("\n\n")) - set(ko.split("\n\n"))
        added = set(ko.split("\n\n")) - set(src.split("\n\n"))
        assert removed == set(edits[0].old)
        assert added == set(edits[0].new)
    # Creative writing keeps its own comparison paragraph (no "your own answer").
    creative = out["categories"]["creative_writing"]["system_prompt"]
    assert "When evaluating the assistants' answers, compare both assistants' answers. You" in (
        creative)


def test_a_prompt_without_the_anchor_paragraph_is_an_error() -> None:
    edits = [Edit(old=("Then consider X.",), new=("Korean.", "Then consider X, fluently."))]
    assert apply_edits("Intro.\n\nThen consider X.\n\nEnd.", edits, "c") == (
        "Intro.\n\nKorean.\n\nThen consider X, fluently.\n\nEnd.")
    with pytest.raises(ConfigError, match="category c: judge prompt has no paragraph"):
        apply_edits("Intro.\n\nSomething else.", edits, "category c")
    inserted = [Edit(old=(), new=("Korean.",), anchor="End.")]
    assert apply_edits("Intro.\n\nEnd.", inserted, "c") == "Intro.\n\nKorean.\n\nEnd."
    with pytest.raises(ConfigError, match="does not differ"):
        korean_edits("Same.", "Same.")
