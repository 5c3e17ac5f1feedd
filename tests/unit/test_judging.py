"""Judging: prompt building, position swap, verdict parsing and the follow-up turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from koarena.errors import ConfigError
from koarena.judge_protocol import (
    DEFAULT_REGEX,
    FOLLOW_UP_PROMPT,
    ChatFn,
    JudgeProtocol,
    build_messages,
    game_messages,
    judge_game,
    parse_verdict,
)
from koarena.judging import JudgeIdentity, JudgeTask, unjudgeable
from koarena.providers.base import ChatRequest, ChatResponse, Message, Usage
from koarena.records import Answer, Game, Judgment, Question
from koarena.verdicts import Winner, game_outcome

V2_PATTERNS = (r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]")


class ScriptedJudge:
    """An in-memory `Provider`: replies come from a function of the request."""

    def __init__(self, reply: Callable[[ChatRequest], str]) -> None:
        self.reply = reply
        self.requests: list[ChatRequest] = []

    async def chat(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        return ChatResponse(
            content=self.reply(request), usage=Usage(input_tokens=10, output_tokens=3)
        )

    async def aclose(self) -> None:
        return None

    def chat_fn(self, protocol: JudgeProtocol) -> ChatFn:
        async def call(messages: list[Message], max_tokens: int) -> ChatResponse:
            return await self.chat(
                ChatRequest(
                    model="judge-x",
                    messages=messages,
                    temperature=protocol.temperature,
                    max_tokens=max_tokens,
                )
            )

        return call


def replies(*texts: str) -> Callable[[ChatRequest], str]:
    it = iter(texts)
    return lambda _request: next(it)


def published_protocol(shared_data: Path) -> JudgeProtocol:
    with open(shared_data / "ko-arena-hard-v0.1" / "judge_config.yaml", encoding="utf-8") as fh:
        cfg = yaml.safe_load(fh)
    return JudgeProtocol(
        system_prompt=cfg["system_prompt"],
        prompt_template=tuple(cfg["prompt_template"]),
        regex_patterns=(cfg["regex_pattern"],),
        attempts=cfg["number_of_judgment_attempts"],
        temperature=cfg["temperature"],
        max_tokens=cfg["max_tokens"],
    )


SIMPLE = JudgeProtocol(system_prompt="S", prompt_template=("{question_1}|{answer_1}|{answer_2}",))
Q = Question(question_id="q1", turns=["질문?"])
BASE = Answer(question_id="q1", model="base", turns=["기준 답변"])
MODEL = Answer(question_id="q1", model="m", turns=["모델 답변"], reasoning=["비밀 생각"])


def test_published_prompt_exact(shared_data: Path) -> None:
    protocol = published_protocol(shared_data)
    messages = build_messages(protocol, Q, BASE, MODEL)
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].content == protocol.system_prompt
    assert messages[0].content.startswith("Please act as an impartial judge")
    assert messages[1].content == (
        "<|User Prompt|>\n질문?\n\n"
        "<|The Start of Assistant A's Answer|>\n기준 답변\n<|The End of Assistant A's Answer|>\n\n"
        "<|The Start of Assistant B's Answer|>\n모델 답변\n<|The End of Assistant B's Answer|>"
    )
    assert protocol.regex_patterns == (DEFAULT_REGEX,)
    assert protocol.attempts == 2


def test_reasoning_is_never_shown() -> None:
    g1, g2 = game_messages(SIMPLE, Q, BASE, MODEL)
    tmpl = JudgeProtocol(system_prompt="S", prompt_template=("{answer_1}|{answer_2}",))
    assert build_messages(tmpl, Q, BASE, MODEL)[1].content == "기준 답변|모델 답변"
    for m in [*g1, *g2]:
        assert "비밀 생각" not in m.content


def test_swap_places_baseline_second_in_game_two() -> None:
    tmpl = JudgeProtocol(system_prompt="S", prompt_template=("A={answer_1} B={answer_2}",))
    g1, g2 = game_messages(tmpl, Q, BASE, MODEL)
    assert g1[1].content == "A=기준 답변 B=모델 답변"
    assert g2[1].content == "A=모델 답변 B=기준 답변"


def test_several_templates_become_several_user_turns() -> None:
    tmpl = JudgeProtocol(system_prompt="S", prompt_template=("Q: {question_1}", "B: {answer_2}"))
    assert build_messages(tmpl, Q, BASE, MODEL) == [
        Message("system", "S"),
        Message("user", "Q: 질문?"),
        Message("user", "B: 모델 답변"),
    ]


def test_multi_turn_numbering_as_arena_hard() -> None:
    q = Question(question_id="q2", turns=["첫 질문", "둘째 질문"])
    a = Answer(question_id="q2", model="base", turns=["a1", "a2"])
    b = Answer(question_id="q2", model="m", turns=["b1", "b2"])
    tmpl = JudgeProtocol(
        system_prompt="S",
        prompt_template=(
            "{question_1}/{question_2} A:{answer_1},{answer_2} B:{answer_3},{answer_4}",
        ),
    )
    assert build_messages(tmpl, q, a, b)[1].content == "첫 질문/둘째 질문 A:a1,a2 B:b1,b2"
    assert build_messages(tmpl, q, b, a)[1].content == "첫 질문/둘째 질문 A:b1,b2 B:a1,a2"


def test_single_turn_template_on_multi_turn_question_is_refused(shared_data: Path) -> None:
    q = Question(question_id="q2", turns=["첫 질문", "둘째 질문"])
    a = Answer(question_id="q2", model="base", turns=["a1", "a2"])
    b = Answer(question_id="q2", model="m", turns=["b1", "b2"])
    with pytest.raises(ConfigError, match=r"B's last turn \(\{answer_4\}\)"):
        build_messages(published_protocol(shared_data), q, a, b)


def test_arena_hard_2_named_template() -> None:
    tmpl = JudgeProtocol(system_prompt="S", prompt_template=("{QUESTION}|{ANSWER_A}|{ANSWER_B}",))
    assert build_messages(tmpl, Q, BASE, MODEL)[1].content == "질문?|기준 답변|모델 답변"


def test_template_argument_the_question_lacks() -> None:
    tmpl = JudgeProtocol(system_prompt="S", prompt_template=("{ref_answer_1} {answer_2}",))
    with pytest.raises(ConfigError, match="needs ref_answer_1"):
        build_messages(tmpl, Q, BASE, MODEL)


def test_question_braces_are_not_format_fields() -> None:
    q = Question(question_id="q3", turns=["print(f'{x}')"])
    assert build_messages(SIMPLE, q, BASE, MODEL)[1].content == "print(f'{x}')|기준 답변|모델 답변"


def test_prompt_hash_exact() -> None:
    assert SIMPLE.prompt_hash == (
        "sha256:24b9f514e5d186a9a1164159477696658b237634b89456cdee3f16feb21c09ff"
    )
    other = JudgeProtocol(system_prompt="S ", prompt_template=SIMPLE.prompt_template)
    assert other.prompt_hash != SIMPLE.prompt_hash


@pytest.mark.parametrize(
    ("text", "patterns", "label", "reason"),
    [
        ("My final verdict is: [[B>>A]]", (DEFAULT_REGEX,), "B>>A", None),
        ("[[A>B]] and again [[A>B]]", (DEFAULT_REGEX,), "A>B", None),
        ("tie [[A=B]]", (DEFAULT_REGEX,), "A=B", None),
        ("[[A>B]] no wait [[B>A]]", (DEFAULT_REGEX,), None, "conflicting verdict labels: A>B, B>A"),
        ("I cannot decide.", (DEFAULT_REGEX,), None, "no verdict label"),
        ("[[A]] wins", (DEFAULT_REGEX,), None, "no known verdict label (found: A)"),
        ("[[B<A]]", (DEFAULT_REGEX,), None, "no known verdict label (found: B<A)"),
        ("single bracket [A>B]", (DEFAULT_REGEX,), None, "no verdict label"),
        ("single bracket [A>B]", V2_PATTERNS, "A>B", None),
        ("[[B>A]] and [A>B]", V2_PATTERNS, "B>A", None),
    ],
)
def test_parse_verdict(
    text: str, patterns: tuple[str, ...], label: str | None, reason: str | None
) -> None:
    verdict = parse_verdict(text, patterns)
    assert (verdict.label, verdict.reason) == (label, reason)


def test_protocol_validation() -> None:
    with pytest.raises(ConfigError, match="at most one capture group"):
        JudgeProtocol(system_prompt="S", prompt_template=("x",), regex_patterns=(r"(A)(B)",))
    with pytest.raises(ConfigError, match="does not compile"):
        JudgeProtocol(system_prompt="S", prompt_template=("x",), regex_patterns=(r"(",))
    with pytest.raises(ConfigError, match="at least 1"):
        JudgeProtocol(system_prompt="S", prompt_template=("x",), attempts=0)
    with pytest.raises(ConfigError, match="prompt_template is empty"):
        JudgeProtocol(system_prompt="S", prompt_template=())


def test_follow_up_after_missing_verdict() -> None:
    judge = ScriptedJudge(replies("Long analysis without a label.", "Final: [[A>B]]"))
    messages = build_messages(SIMPLE, Q, BASE, MODEL)
    result = asyncio.run(judge_game(judge.chat_fn(SIMPLE), SIMPLE, messages))
    assert result.score == "A>B"
    assert result.reason is None
    assert len(judge.requests) == 2
    assert judge.requests[0].messages == messages
    assert judge.requests[1].messages == [
        *messages,
        Message("assistant", "Long analysis without a label."),
        Message("user", FOLLOW_UP_PROMPT),
    ]
    assert judge.requests[1].temperature == 0.0
    assert judge.requests[1].max_tokens == 16384
    game = result.to_game().to_dict()
    assert game["score"] == "A>B"
    assert game["judgment"] == "\nLong analysis without a label.\nFinal: [[A>B]]"
    assert game["user_prompt"] == "질문?|기준 답변|모델 답변"
    assert game["attempts"] == 2
    assert game["usage"] == {"input_tokens": 20, "output_tokens": 6, "cached_input_tokens": 0}
    assert "unparsed_reason" not in game
    assert game["messages"][-1] == {"role": "assistant", "content": "Final: [[A>B]]"}


def test_follow_up_after_conflicting_verdicts() -> None:
    judge = ScriptedJudge(replies("[[A>B]] or maybe [[B>>A]]", "My final verdict: [[B>>A]]"))
    messages = build_messages(SIMPLE, Q, BASE, MODEL)
    result = asyncio.run(judge_game(judge.chat_fn(SIMPLE), SIMPLE, messages))
    assert result.score == "B>>A"
    assert result.replies == ["[[A>B]] or maybe [[B>>A]]", "My final verdict: [[B>>A]]"]


def test_unparsed_after_all_attempts_is_never_a_label() -> None:
    judge = ScriptedJudge(replies("[[A>B]] [[B>A]]", "still thinking", "never asked"))
    messages = build_messages(SIMPLE, Q, BASE, MODEL)
    result = asyncio.run(judge_game(judge.chat_fn(SIMPLE), SIMPLE, messages))
    assert result.score is None
    assert result.reason == "no verdict label after 2 attempt(s)"
    assert len(judge.requests) == 2
    game = result.to_game().to_dict()
    assert game["score"] is None
    assert game["unparsed_reason"] == "no verdict label after 2 attempt(s)"


def test_single_attempt_sends_no_follow_up() -> None:
    one = JudgeProtocol(system_prompt="S", prompt_template=SIMPLE.prompt_template, attempts=1)
    judge = ScriptedJudge(replies("[[A>B]] [[B>A]]"))
    result = asyncio.run(judge_game(judge.chat_fn(one), one, build_messages(one, Q, BASE, MODEL)))
    assert result.score is None
    assert result.reason == "conflicting verdict labels: A>B, B>A after 1 attempt(s)"
    assert len(judge.requests) == 1


def prefers_model(request: ChatRequest) -> str:
    """A judge that always prefers the model's answer, wherever it is shown."""
    user = request.messages[1].content
    return "[[B>A]]" if user.endswith("B=모델 답변") else "[[A>B]]"


def test_judge_task_swap_round_trip(tmp_path: Path) -> None:
    tmpl = JudgeProtocol(system_prompt="S", prompt_template=("A={answer_1} B={answer_2}",))
    judge = ScriptedJudge(prefers_model)
    task = JudgeTask(
        question=Q,
        baseline_answer=BASE,
        model_answer=MODEL,
        judged_model="m",
        protocol=tmpl,
        identity=JudgeIdentity(judge="judge-x", judge_model="vendor/judge-x", baseline="base"),
        output=tmp_path / "judge-x" / "m.jsonl",
    )
    assert (task.key, task.model) == ("q1", "judge-x")
    assert [r.messages[1].content for r in task.planned_requests()] == [
        "A=기준 답변 B=모델 답변",
        "A=모델 답변 B=기준 답변",
    ]
    record = asyncio.run(task.run(judge.chat))
    # Requests go to the judge's endpoint-file name; the engine maps it to the API model.
    assert [r.model for r in judge.requests] == ["judge-x", "judge-x"]
    labels = [g["score"] for g in record["games"]]
    assert labels == ["B>A", "A>B"]
    # Read from the baseline's side, both games are won by the model (B).
    assert [game_outcome(label, i) for i, label in enumerate(labels)] == [
        (Winner.B, False),
        (Winner.B, False),
    ]
    assert record["question_id"] == "q1"
    assert record["model"] == "m"
    assert record["judge"] == "judge-x"
    assert {k: record[k] for k in ("judge_model", "baseline", "temperature", "max_tokens")} == {
        "judge_model": "vendor/judge-x",
        "baseline": "base",
        "temperature": 0.0,
        "max_tokens": 16384,
    }
    assert record["prompt_hash"] == tmpl.prompt_hash
    assert isinstance(record["tstamp"], float)
    assert [g["user_prompt"] for g in record["games"]] == [
        "A=기준 답변 B=모델 답변",
        "A=모델 답변 B=기준 답변",
    ]
    assert Judgment.from_dict(record, "here").games[1] == Game(
        score="A>B", extra={k: v for k, v in record["games"][1].items() if k != "score"}
    )


def test_unjudgeable_answers_are_reported_by_reason() -> None:
    qs = [Question(question_id=f"q{i}", turns=["?"]) for i in range(6)]
    base = {f"q{i}": Answer(question_id=f"q{i}", model="base", turns=["ok"]) for i in range(6)}
    base["q4"] = Answer(question_id="q4", model="base", turns=["  "])
    del base["q5"]
    model = {
        "q0": Answer(question_id="q0", model="m", turns=["fine"]),
        "q1": Answer(question_id="q1", model="m", turns=["$ERROR$"]),
        "q2": Answer(question_id="q2", model="m", turns=[""]),
        "q4": Answer(question_id="q4", model="m", turns=["fine"]),
        "q5": Answer(question_id="q5", model="m", turns=["fine"]),
    }
    ok, skipped = unjudgeable(qs, base, model)
    assert [q.question_id for q in ok] == ["q0"]
    assert skipped == {
        "model answer failure marker $ERROR$": ["q1"],
        "model answer empty": ["q2"],
        "model answer missing": ["q3"],
        "baseline answer empty": ["q4"],
        "baseline answer missing": ["q5"],
    }


def test_protocol_doctests() -> None:
    import doctest

    from koarena import judge_protocol

    result = doctest.testmod(judge_protocol)
    assert (result.attempted, result.failed) == (5, 0)
