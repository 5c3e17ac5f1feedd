"""Quality checks of translations, on the published Korean v0.1 set and on crafted replies."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from koarena.translation.checks import (
    check_turn,
    english_sentences,
    hangul_share,
    identity_mismatch,
    is_answer,
    is_refusal,
    item_flags,
)


def _load(path: Path, key: str) -> dict[str, str]:
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            out[r[key]] = r["prompt"] if "prompt" in r else r["turns"][0]["content"]
    return out


def test_the_published_korean_set_is_mostly_clean(shared_data: Path) -> None:
    """The Korean v0.1 prompts against their English source: the bounds flag 23 of 500, and
    the flags found are real (English instructions left in, a URL changed, a list added)."""
    en = _load(shared_data / "arena-hard-v0.1" / "question.jsonl", "uid")
    ko = _load(shared_data / "ko-arena-hard-v0.1" / "question.jsonl", "question_id")
    assert set(en) == set(ko)
    checks = {qid: check_turn(en[qid], ko[qid]) for qid in ko}
    flags = Counter(f for c in checks.values() for f in c.flags)
    assert flags == {"low_hangul": 11, "english_left": 12, "identity": 6, "answered": 3}
    assert sum(1 for c in checks.values() if c.flags) == 23
    # Instructions left in English, found sentence by sentence.
    c = checks["41ae4a2ae9694f70a351ab6315620051"]
    assert c.flags == ["low_hangul", "english_left"]
    assert "Your answer should be formatted as JSON." in c.english_sentences
    # The translator added a bulleted list the source does not have.
    assert checks["7956046cc15646909bd07c31d0ea0371"].flags == ["answered"]
    assert checks["0901d02592b347d8aa2cb99b02bf0dad"].identity_mismatch == ["url"]
    # No published translation reads as a refusal or falls outside the length bounds.
    assert not any(c.refusal for c in checks.values())
    ratios = [c.length_ratio for c in checks.values() if c.length_ratio is not None]
    assert len(ratios) == 477
    assert min(ratios) > 0.25
    assert max(ratios) < 1.25


def test_hangul_share_counts_words() -> None:
    assert hangul_share("Fragment에 Toolbar를 추가하는 방법은?") == 1.0
    assert hangul_share("How do I add a Toolbar?") == 0.0
    assert hangul_share("123 456") is None


def test_english_sentences_skip_code_and_identifiers() -> None:
    text = ("코드를 고쳐 줘.\nprint(\"Reports have been successfully downloaded.\")\n"
            "Kubernetes Docker Helm Terraform Ansible Jenkins\n"
            "Then tell me why it fails on the second run.")
    assert english_sentences(text) == ["Then tell me why it fails on the second run."]


def test_identity_of_code_url_and_math() -> None:
    src = "Run `ls` and read https://a.io/x with $x^2$"
    assert identity_mismatch(src, "`ls`을 실행하고 https://a.io/x 를 $x^2$ 로 읽어") == []
    assert identity_mismatch(src, "`dir`을 실행하고 https://a.io/y 를 $x^3$ 로 읽어") == [
        "code", "math", "url"]


def test_refusal_unless_the_source_apologises() -> None:
    assert is_refusal("Write a poem about cats.", "죄송하지만 이 요청은 도와드릴 수 없습니다.")
    assert is_refusal("Write a poem about cats.", "I'm sorry, but I can't help with that.")
    assert not is_refusal("Write an apology: I'm sorry for being late.",
                          "사과문을 써 줘: 늦어서 죄송합니다.")


def test_answer_instead_of_translation() -> None:
    src = "What is the capital of France?"
    assert is_answer(src, "물론입니다! 프랑스의 수도는 파리입니다.")
    assert is_answer(src, "## 답변\n\n- 파리\n- 인구 200만")
    assert not is_answer(src, "프랑스의 수도는 어디인가요?")
    # A source that is itself a list keeps its items.
    assert not is_answer("Steps:\n- one\n- two", "단계:\n- 하나\n- 둘")


def test_check_turn_flags_english_reply_and_short_reply() -> None:
    src = ("Write a short story about a robot who learns to paint, and make sure that the "
           "ending is happy. The story should be told from the robot's point of view.")
    english = check_turn(src, src)
    assert english.flags == ["low_hangul", "english_left"]
    assert english.hangul_share == 0.0
    short = check_turn(src, "로봇 이야기.")
    assert short.flags == ["length_ratio"]
    good = check_turn(src, "그림 그리는 법을 배우는 로봇에 대한 짧은 이야기를 써 줘. 결말은 꼭 "
                           "행복해야 해. 이야기는 로봇의 시점에서 전해져야 해.")
    assert good.flags == []
    assert item_flags([english, short, good]) == ["low_hangul", "english_left", "length_ratio"]


def test_checks_round_trip_through_a_record() -> None:
    from koarena.translation.checks import TurnChecks

    c = check_turn("Explain `git rebase` in detail, please.", "`git rebase`를 자세히 설명해 줘.")
    d = c.to_dict()
    assert TurnChecks.from_dict(json.loads(json.dumps(d))).to_dict() == d
    assert d["flags"] == [] and d["identity_mismatch"] == [] and d["hangul_share"] == 1.0


def test_a_reply_that_is_the_source_is_flagged_even_without_function_words() -> None:
    src = "Create a Rust CLI: parse args, read config, print stats per file, exit nonzero."
    c = check_turn(src, src)
    assert c.hangul_share == 0.0
    assert "low_hangul" in c.flags
