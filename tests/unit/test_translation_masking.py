"""Masking before translation and restoring after, on real prompts of Arena-Hard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from koarena.translation.masking import MaskError, find_spans, mask, prose


def _prompts(shared: Path, bench: str) -> dict[str, str]:
    with open(shared / bench / "question.jsonl", encoding="utf-8") as fh:
        return {(r := json.loads(line))["uid"]: r["prompt"] for line in fh}


@pytest.fixture(scope="module")
def v2(shared_data: Path) -> dict[str, str]:
    return _prompts(shared_data, "arena-hard-v2.0")


@pytest.fixture(scope="module")
def v01(shared_data: Path) -> dict[str, str]:
    return _prompts(shared_data, "arena-hard-v0.1")


def test_every_english_prompt_round_trips_byte_for_byte(v2: dict[str, str],
                                                        v01: dict[str, str]) -> None:
    prompts = [*v2.values(), *v01.values()]
    assert len(prompts) == 1250
    for p in prompts:
        m = mask(p)
        assert m.restore(m.text) == p
        # Nothing protected is left in the text the translator sees.
        assert not any(s.kind == "code" and "```" in m.text for s in m.spans)


def test_url_and_numbers_of_a_real_prompt(v2: dict[str, str]) -> None:
    m = mask(v2["f3d8baf3111a4148"])
    assert m.text == (
        "create simple plasmoid compatible with Plasma ⟦1⟧. It should display letter W and "
        "allow changing font size in configuration window. Show folder structure and files "
        "content. Plasma ⟦2⟧, remember: ⟦3⟧ No compilation to be required. ")
    assert [(s.kind, s.text) for s in m.spans] == [
        ("number", "6"), ("number", "6"),
        ("url", "https://develop.kde.org/docs/plasma/widget/porting_kf6/")]


def test_math_and_latex_commands_of_a_real_prompt(v2: dict[str, str]) -> None:
    m = mask(v2["4ba8509518344c83"])
    assert [(s.kind, s.text) for s in m.spans] == [
        ("math", "\\( x \\)"), ("math", "\\textit{fruity}"), ("math", "\\( E(x) = 24 \\)"),
        ("math", "\\( E(x) \\)"), ("math", "\\( x \\)"), ("math", "\\textit{fruity}"),
        ("number", "1000")]
    # An ordinal is a word to translate.
    assert "the 30th smallest ⟦6⟧ number" in m.text


def test_display_math_environments(v2: dict[str, str]) -> None:
    m = mask(v2["295a67e807ab4b3d"])
    assert m.text == ("Given: ⟦1⟧\n\nThis double sum can be interpreted as a single Lebesgue "
                      "sum:\n\n⟦2⟧\n\ndetermine tha form of the function ⟦3⟧")
    assert m.spans[0].text.startswith("\\begin{align}\\label{k1}")
    assert m.spans[0].text.endswith("\\end{align}")


def test_tags_paths_and_format_placeholders(v2: dict[str, str]) -> None:
    m = mask(v2["d5cdf24c4e614beb"])
    assert [(s.kind, s.text) for s in m.spans] == [
        ("placeholder", '<div style="width: 100vh; height: 100vh;">'),
        ("placeholder", '<img src="img/world.png">'), ("placeholder", "</div>")]
    m = mask(v2["530bfc669bda4e3a"])
    assert [(s.kind, s.text) for s in m.spans] == [
        ("path", "/etc/sddm.conf.d/dpi.conf"), ("placeholder", "[X11]"), ("number", "192")]
    m = mask(v2["e51d15007484432c"])
    assert [s.text for s in m.spans if s.kind == "placeholder"] == ["%d", "%s"]


def test_fenced_code_is_one_span(v2: dict[str, str]) -> None:
    p = v2["2edbb5f36f5b42be"]
    m = mask(p)
    code = [s for s in m.spans if s.kind == "code"]
    assert len(code) == 1
    assert code[0].text.startswith("```\n--- Day 25: Let It Snow ---")
    assert m.text.startswith("Write me a zig program that solves the following problem from "
                             "advent of code and reads the input from a file ⟦1⟧ and prints "
                             "the answer to stdout.\n⟦2⟧")


def test_prices_are_numbers_not_math() -> None:
    spans = find_spans("It costs $5 and $10, or 3.5 kg at 20% off; 1,000 KRW each.")
    assert [(s.kind, s.text) for s in spans] == [
        ("number", "$5"), ("number", "$10"), ("number", "3.5 kg"), ("number", "20%"),
        ("number", "1,000 KRW")]


def test_words_that_look_like_paths_or_units_stay_prose() -> None:
    spans = find_spans("use and/or TCP/IP, 5 in the list, 2nd try, GPT-style")
    assert [(s.kind, s.text) for s in spans] == [("number", "5")]


def test_restore_puts_spans_back_in_the_translators_order() -> None:
    m = mask("Save `df` to out.csv at https://x.org/a.")
    assert m.text == "Save ⟦1⟧ to ⟦2⟧ at ⟦3⟧."
    restored = m.restore("⟦3⟧의 ⟦2⟧에 ⟦1⟧을 저장해 줘.")
    assert restored == "https://x.org/a의 out.csv에 `df`을 저장해 줘."


def test_block_spans_stay_on_their_own_lines() -> None:
    m = mask("Fix this:\n```py\nx = 1\n```\nPlease.")
    assert m.text == "Fix this:\n⟦1⟧\nPlease."
    restored = m.restore("이것을 고쳐 줘: ⟦1⟧ 부탁해.")
    assert restored == "이것을 고쳐 줘: \n```py\nx = 1\n```\n 부탁해."


@pytest.mark.parametrize(("reply", "message"), [
    ("⟦1⟧만 있다", "missing tokens [2]"),
    ("⟦1⟧ ⟦2⟧ ⟦2⟧", "duplicated tokens [2]"),
    ("⟦1⟧ ⟦2⟧ ⟦3⟧", "unknown tokens ['⟦3⟧']"),
    ("⟦1⟧ ⟦ 2⟧", "missing tokens [2]; 2 mangled token brackets"),
    ("[[1]] ⟦2⟧", "missing tokens [1]"),
])
def test_a_lost_or_altered_token_is_an_error(reply: str, message: str) -> None:
    m = mask("Read `a` then `b`")
    with pytest.raises(MaskError) as exc:
        m.restore(reply)
    assert str(exc.value) == message


def test_text_that_already_uses_the_brackets_gets_other_ones() -> None:
    m = mask("keep ⟦this⟧ and `x`")
    assert m.text == "keep ⟦this⟧ and ⟪1⟫"
    assert m.restore("⟦this⟧ 유지, ⟪1⟫") == "⟦this⟧ 유지, `x`"


def test_prose_drops_protected_spans() -> None:
    assert prose("See `x` at https://a.io now") == "See   at   now"


def test_windows_paths_are_not_latex() -> None:
    spans = find_spans(r"open C:\Users\kim\data.csv with \frac{a}{b}")
    assert [(s.kind, s.text) for s in spans] == [
        ("path", r"C:\Users\kim\data.csv"), ("math", r"\frac{a}{b}")]
