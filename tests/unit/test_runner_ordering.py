"""A complete output file is in question order, whatever order its requests finished in: the
bootstrap resamples battles by position, so line order decides the confidence interval."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
from ask_task import Ask

from koarena.config import parse_model_endpoint
from koarena.providers.base import ChatRequest, ChatResponse, Provider, TransientError
from koarena.runner.ordering import put_in_task_order
from koarena.runner.pool import ProviderPool, RetryPolicy
from koarena.runner.run import RunOptions, RunResult, run_tasks

KEYS = [f"q{i}" for i in range(12)]


class LaterFirst:
    """Answers the later questions sooner (q11 first, q0 last); fails the keys in ``fail``."""

    def __init__(self, fail: frozenset[str] = frozenset()) -> None:
        self.fail = fail
        self.finished: list[str] = []

    async def chat(self, request: ChatRequest) -> ChatResponse:
        key = request.messages[0].content
        await asyncio.sleep(0.004 * (len(KEYS) - KEYS.index(key)))
        if key in self.fail:
            raise TransientError("injected")
        self.finished.append(key)
        return ChatResponse(content=f"answer to {key}")

    async def aclose(self) -> None:
        pass


def run(out: Path, provider: LaterFirst, parallel: int) -> RunResult:
    cfg = parse_model_endpoint("m", {"endpoints": [{"api_base": "http://127.0.0.1:9"}],
                                     "parallel": parallel}, "t", env={})

    def factory(_cfg: Any) -> list[Provider]:
        return [provider]

    async def go() -> RunResult:
        pool = ProviderPool({"m": cfg}, factory=factory,
                            retry=RetryPolicy(attempts=1, base=0.0, cap=0.0))
        try:
            return await run_tasks([Ask(k, out) for k in KEYS], pool,
                                   RunOptions(stage="test", failure_log=out.with_suffix(".f")))
        finally:
            await pool.aclose()

    return asyncio.run(go())


def keys_in(path: Path) -> list[str]:
    return [orjson.loads(line)["question_id"] for line in path.read_bytes().splitlines()]


def test_a_complete_file_is_in_question_order_whatever_finished_first(tmp_path: Path) -> None:
    one_by_one, concurrent = LaterFirst(), LaterFirst()
    run(tmp_path / "serial.jsonl", one_by_one, parallel=1)
    run(tmp_path / "concurrent.jsonl", concurrent, parallel=6)
    assert one_by_one.finished == KEYS
    assert concurrent.finished != KEYS  # the requests did finish out of order
    assert keys_in(tmp_path / "concurrent.jsonl") == KEYS
    assert (tmp_path / "concurrent.jsonl").read_bytes() == (tmp_path / "serial.jsonl").read_bytes()


def test_an_incomplete_file_keeps_its_order_until_a_resume_completes_it(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    first = LaterFirst(fail=frozenset({"q3"}))
    assert run(out, first, parallel=6).exit_code == 1
    assert keys_in(out) == first.finished  # as appended: nothing is rewritten mid-way
    assert keys_in(out) != sorted(keys_in(out), key=KEYS.index)
    assert run(out, LaterFirst(), parallel=6).done == 1
    assert keys_in(out) == KEYS


def test_a_file_with_records_of_other_questions_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    lines = [orjson.dumps({"question_id": k}) for k in ["q1", "other", "q0"]]
    out.write_bytes(b"\n".join(lines) + b"\n")
    tasks = [Ask("q0", out), Ask("q1", out)]
    put_in_task_order(tasks, [out])
    assert keys_in(out) == ["q1", "other", "q0"]
    # Without the stranger the same file is put in order, each line kept byte for byte.
    out.write_bytes(lines[0] + b"\n" + lines[2] + b"\n")
    put_in_task_order(tasks, [out])
    assert out.read_bytes() == lines[2] + b"\n" + lines[0] + b"\n"


def test_a_file_with_a_torn_tail_or_a_bad_line_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "m.jsonl"
    tasks = [Ask("q0", out), Ask("q1", out)]
    for text in (b'{"question_id": "q1"}\n{"question_id": "q0"}',
                 b'{"question_id": "q1"}\nnot json\n{"question_id": "q0"}\n'):
        out.write_bytes(text)
        put_in_task_order(tasks, [out])
        assert out.read_bytes() == text
