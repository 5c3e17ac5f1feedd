"""Cut-off and filtered replies: recorded with their finish reason, handled by the configured
policy (keep / flag / retry with more tokens) and counted by ``data check``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from koarena.answering import AnswerTask
from koarena.bench import Bench
from koarena.datacheck import check_bench
from koarena.finish import FinishPolicy
from koarena.jsonl import write_jsonl_atomic
from koarena.judge_protocol import JudgeProtocol, judge_game
from koarena.providers.base import ChatRequest, ChatResponse, Message, Usage
from koarena.records import Answer, Judgment, Question

Q = Question("q1", ["질문"])
TEMPLATE = ("{question_1}\n<|The Start of Assistant A's Answer|>\n{answer_1}\n"
            "<|The End of Assistant A's Answer|>\n{answer_2}")

class Scripted:
    """Replies (text, finish reason) in order; remembers the token limit of each request."""

    def __init__(self, *replies: tuple[str, str]) -> None:
        self.replies = list(replies)
        self.max_tokens: list[int | None] = []

    async def __call__(self, request: ChatRequest) -> ChatResponse:
        self.max_tokens.append(request.max_tokens)
        text, finish = self.replies.pop(0)
        return ChatResponse(text, usage=Usage(10, 5, cached_input_tokens=4),
                            finish_reason=finish)

def answer(policy: FinishPolicy, chat: Scripted) -> Answer:
    task = AnswerTask(Q, "m", Path("unused"), 0.0, 100, policy)
    return Answer.from_dict(asyncio.run(task.run(chat)), "t")

def test_flag_records_the_finish_reason() -> None:
    chat = Scripted(("잘린 답", "length"))
    a = answer(FinishPolicy.FLAG, chat)
    assert a.turns == ["잘린 답"]
    assert a.finish_reasons == ["length"]
    assert a.to_dict()["choices"][0]["turns"][0]["finish_reason"] == "length"
    assert (a.finish_problem, a.finish_accepted) == ("truncated", False)
    assert chat.max_tokens == [100]

def test_retry_asks_again_with_twice_the_tokens() -> None:
    chat = Scripted(("잘린 답", "length"), ("온전한 답", "stop"))
    a = answer(FinishPolicy.RETRY, chat)
    assert chat.max_tokens == [100, 200]
    assert a.turns == ["온전한 답"]
    assert a.finish_reasons == ["stop"]
    assert a.finish_problem is None

def test_retry_does_not_retry_a_filter_and_flags_what_stays_cut() -> None:
    chat = Scripted(("걸러진 답", "content_filter"))
    assert answer(FinishPolicy.RETRY, chat).finish_problem == "filtered"
    assert chat.max_tokens == [100]
    chat = Scripted(("잘린 답", "MAX_TOKENS"), ("또 잘린 답", "MAX_TOKENS"))
    a = answer(FinishPolicy.RETRY, chat)
    assert (a.finish_problem, a.finish_accepted) == ("truncated", False)

def test_keep_marks_the_record() -> None:
    a = answer(FinishPolicy.KEEP, Scripted(("잘린 답", "max_tokens")))
    assert a.extra == {"finish_policy": "keep"}
    assert (a.finish_problem, a.finish_accepted) == ("truncated", True)
    clean = answer(FinishPolicy.KEEP, Scripted(("답", "end_turn")))
    assert clean.extra == {}

def test_judge_retry_with_more_tokens_then_verdict() -> None:
    protocol = JudgeProtocol("sys", (TEMPLATE,), max_tokens=50,
                             finish_policy=FinishPolicy.RETRY)
    chat = Scripted(("분석이 길어서", "length"), ("분석 끝 [[A>B]]", "stop"))

    async def ask(messages: list[Message], max_tokens: int) -> ChatResponse:
        return await chat(ChatRequest("j", messages, 0.0, max_tokens))

    result = asyncio.run(judge_game(ask, protocol, [Message("user", "x")]))
    assert chat.max_tokens == [50, 100]
    assert result.score == "A>B"
    game = result.to_game()
    assert game.extra["finish_reasons"] == ["stop"]
    assert game.extra["usage"] == {"input_tokens": 20, "output_tokens": 10,
                                   "cached_input_tokens": 8}
    assert game.finish_problem is None

def test_data_check_counts_cut_off_filtered_and_kept(tmp_path: Path) -> None:
    bench = Bench(tmp_path, "b")
    write_jsonl_atomic(bench.root / "question.jsonl",
                       [{"question_id": f"q{i}", "turns": [{"content": "?"}]} for i in range(4)])

    def ans(qid: str, finish: str, keep: bool = False) -> dict[str, object]:
        turn = {"content": "답", "finish_reason": finish}
        rec: dict[str, object] = {"question_id": qid, "model_id": "m",
                                  "choices": [{"index": 0, "turns": [turn]}]}
        if keep:
            rec["finish_policy"] = "keep"
        return rec

    write_jsonl_atomic(bench.answer_file("m"), [
        ans("q0", "stop"), ans("q1", "length"), ans("q2", "SAFETY"),
        ans("q3", "max_tokens", keep=True)])

    def game(finishes: list[str]) -> dict[str, object]:
        return {"score": "A>B", "finish_reasons": finishes}

    write_jsonl_atomic(bench.judgment_file("j", "m"), [
        Judgment.from_dict({"question_id": f"q{i}", "model": "m", "judge": "j",
                            "games": [game(["length", "stop"]), game(g)]}, "t").to_dict()
        for i, g in enumerate([["stop"], ["length"], ["content_filter"], ["stop"]])])
    report = check_bench(bench)
    a = report.answers["m"]
    assert (a.flagged.truncated, a.flagged.filtered, a.flagged.kept, a.problems) == (1, 1, 1, 2)
    j = report.judgments["j"]["m"]
    # Only the last reply of a game counts: the first was followed up.
    assert (j.flagged.truncated, j.flagged.filtered, j.flagged.kept, j.problems) == (1, 1, 0, 2)
    assert report.problems == 4
