from __future__ import annotations

import random
import re

from koarena.korean import (
    _STRIP_RES,
    hangul_share_feature,
    is_code_line,
    is_english_prose,
    korean_fidelity,
    model_fidelity,
    script_profile,
    strip_non_prose,
)
from koarena.records import Answer


def _a(qid: str, model: str, text: str) -> Answer:
    return Answer(question_id=qid, model=model, turns=[text])


def test_strip_non_prose() -> None:
    text = "앞\n```python\nprint('x')\n```\n뒤 `code` $x^2$ $$y$$ \\(z\\) www.a.com 끝 $5와 $10"
    assert strip_non_prose(text) == "앞\n \n뒤           끝 $5와 $10"
    # An unterminated fence runs to the end.
    assert strip_non_prose("글\n```\ncode without end") == "글\n "


def test_script_profile_counts() -> None:
    p = script_profile("한국어 문장 with English words.\nThis is the answer that we wrote.")
    # Line 1: 5 Hangul + 16 Latin letters; line 2 is English prose (the/that/we): 26.
    assert (p.hangul, p.letters, p.raw_letters) == (5, 47, 47)
    assert (p.words, p.korean_words) == (12, 2)
    assert p.hangul_share == 5 / 47
    assert p.primarily_korean() is False
    # Unfenced code: only its Hangul counts; a Latin-only code or heading line is left out.
    p = script_profile("설명입니다\nlet x = f(); // 주석\nInstall Steps")
    assert (p.hangul, p.letters, p.raw_letters) == (7, 7, 24)
    assert (p.words, p.korean_words) == (2, 2)
    assert p.hangul_share == 1.0
    assert p.primarily_korean() is True


def test_words_are_the_whitespace_separated_words_with_letters() -> None:
    # Unicode spaces and non-decimal numerals (a letter to \w, "²"), digits and underscores
    # (not letters), words with letters anywhere in them.
    pieces = ["가", "한글", "a", "Z", "²", "7", "_", "-", ".", " ", "  ", "\t", "\u3000",
              "\xa0", "\u2009"]
    rng = random.Random(5)
    for _ in range(3000):
        line = "가 " + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        p = script_profile(line)
        words = line.split()
        assert p.words == sum(1 for w in words if re.search(r"[^\W\d_]", w)), line
        assert p.korean_words == sum(1 for w in words if re.search("[가-힣]", w)), line


def test_intrusions_only_inside_korean_lines() -> None:
    p = script_profile("이것은 漢字 와 カタカナ, и кириллица.\n全部中文的一行")
    assert p.intrusions == {"han": 1, "kana": 1, "cyrillic": 2}
    assert p.n_intrusions == 4
    # The Chinese-only line is counted as foreign prose, not as an intrusion.
    assert p.letters == len("이것은漢字와カタカナиКириллица") + len("全部中文的一行")


def test_no_letters() -> None:
    p = script_profile("```\nonly code\n```\n123")
    assert p.hangul_share is None
    assert p.primarily_korean() is None
    assert hangul_share_feature(_a("q", "m", "```\nx\n```")) == 100.0
    assert hangul_share_feature(_a("q", "m", "한국어 hello")) == 300 / 8


# `is_code_line` tests this pattern part by part; the two must agree on every line.
CODE_LINE_PATTERN = re.compile(
    r"[;{}]\s*$|\):\s*$|^\s*(?://|/\*|\*/|--\s|\$\s|>>>\s)"
    r"|::|->|=>|\s=\s|[=!<>+\-*/]=|\w\.\w+\("
)


def test_code_line_is_the_single_pattern() -> None:
    # the pattern's characters, whitespace of several kinds (Unicode too) and letters
    pieces = [";", "{", "}", ")", ":", "/", "*", "-", "$", ">", "=", "!", "<", "+", ".", "(",
              " ", "\t", "\u3000", "\xa0", "\n", "a", "_", "7", "가", "x.y(", ">>>"]
    rng = random.Random(7)
    for _ in range(20000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 9)))
        assert is_code_line(line) == (CODE_LINE_PATTERN.search(line) is not None), repr(line)


def test_strip_skips_only_patterns_that_cannot_match() -> None:
    # every pattern applied, marks or not: what strip_non_prose must still give
    pieces = ["```", "~~~", "`", "$", "$$", "\\[", "\\]", "\\(", "\\)", "://", "www.", "http",
              "a", "가", "5", " ", "\n"]
    rng = random.Random(13)
    for _ in range(5000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = text
        for rx, _marks in _STRIP_RES:
            expected = rx.sub(" ", expected)
        assert strip_non_prose(text) == expected, repr(text)


def test_letters_and_hangul_counted_per_character() -> None:
    # counted by runs of letters; the same as one count per letter
    pieces = ["가", "힣", "ㄱ", "ᄀ", "a", "é", "²", "7", "_", "漢", " ", "-", "\u3000"]
    rng = random.Random(11)
    for _ in range(3000):
        line = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
        p = script_profile(line)
        assert p.raw_letters == len(re.findall(r"[^\W\d_]", line)), line
        assert p.hangul == len(re.findall("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]", line)), line


def test_line_classifiers() -> None:
    assert is_code_line("    int x = 0;")
    assert is_code_line("$ cargo run")
    assert not is_code_line("## 1단계: 설치")
    assert not is_code_line("- SCIM(스킴) 개요")
    assert is_english_prose("You can use the following steps to do it.")
    assert not is_english_prose("SELECT name FROM users ORDER BY name")


def test_model_fidelity_aggregates() -> None:
    answers = {
        "q1": _a("q1", "m", "완전히 한국어로 쓴 답변입니다."),
        "q2": _a("q2", "m", "This is the answer that we wrote in English."),
        "q3": _a("q3", "m", "한국어 답변에 中文 섞임"),
        "q4": _a("q4", "m", "$ERROR$"),
        "q5": _a("q5", "m", "  "),
    }
    f = model_fidelity("m", answers, baseline_korean={"q2": True})
    assert (f.answers, f.scored, f.failed, f.empty) == (5, 3, 1, 1)
    assert f.not_korean == 1
    assert f.not_korean_questions == ["q2"]
    assert f.not_korean_where_baseline_korean == 1
    assert (f.intrusions, f.answers_with_intrusions, f.intrusions_by_script) == (1, 1, {"han": 1})
    assert f.min_hangul_share == 0.0
    assert f.mean_hangul_share == (1.0 + 0.0 + 0.8) / 3
    assert f.to_dict()["model"] == "m"


def test_korean_fidelity_sorts_worst_first_and_compares_with_baseline() -> None:
    answers = {
        "base": {
            "q1": _a("q1", "base", "한국어"),
            "q2": _a("q2", "base", "Please answer here in the English."),
        },
        "good": {"q1": _a("q1", "good", "한국어"), "q2": _a("q2", "good", "한국어")},
        "bad": {
            "q1": _a("q1", "bad", "This is the answer that we wrote in English."),
            "q2": _a("q2", "bad", "This is the answer that we wrote in English."),
        },
    }
    rows = korean_fidelity(answers, baseline="base")
    assert [r.model for r in rows] == ["bad", "base", "good"]
    bad = rows[0]
    # Both answers are not Korean, but only q1 drifted: the baseline answered q2 in English.
    assert (bad.not_korean, bad.not_korean_where_baseline_korean) == (2, 1)
    assert korean_fidelity(answers)[0].not_korean_where_baseline_korean is None
