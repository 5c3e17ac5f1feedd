"""Fault rules of the fake server: which requests get the fault, scripted by count, not time."""

from __future__ import annotations

from pathlib import Path

from koarena.testing import FakeConfig, FaultRule


def test_a_rule_lets_after_requests_through_then_faults_times_of_them() -> None:
    rule = FaultRule("hang", match="질문", model="m", times=2, after=3)
    assert [rule.take("m", "첫 질문") for _ in range(7)] == [
        False, False, False, True, True, False, False
    ]
    assert (rule.seen, rule.used) == (7, 2)


def test_requests_the_rule_does_not_match_are_not_counted() -> None:
    rule = FaultRule("500", match="x", model="m", after=1)
    assert rule.take("other", "x") is False
    assert rule.take("m", "y") is False
    assert (rule.seen, rule.used) == (0, 0)
    assert [rule.take("m", "x"), rule.take("m", "x"), rule.take("m", "x")] == [False, True, False]


def test_without_after_the_first_requests_get_the_fault() -> None:
    rule = FaultRule("429", times=2)
    assert [rule.take("any", "text") for _ in range(3)] == [True, True, False]


def test_script_file_takes_after(tmp_path: Path) -> None:
    script = tmp_path / "faults.yaml"
    script.write_text("faults:\n  - {kind: hang, after: 10, times: 1000}\n", encoding="utf-8")
    (rule,) = FakeConfig.from_file(script).faults
    assert (rule.kind, rule.after, rule.times) == ("hang", 10, 1000)
