"""The translation task's own rules, with a scripted chat (no HTTP: the task is pure logic
over the `Chat` callable; its HTTP path is tested against the fake server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from koarena.providers.base import ChatRequest, ChatResponse
from koarena.runner.tasks import Chat, TaskError
from koarena.translation.items import SourceItem
from koarena.translation.task import TranslateTask, Translator


def _task(prompt: str, attempts: int = 3) -> TranslateTask:
    item = SourceItem.from_record({"uid": "u", "prompt": prompt}, "t")
    return TranslateTask(item, Translator("tr", "tr-api", 0.0, 100, attempts), Path("out.jsonl"),
                         "en")


def _chat(replies: list[ChatResponse], seen: list[ChatRequest]) -> Chat:
    async def chat(request: ChatRequest) -> ChatResponse:
        seen.append(request)
        return replies.pop(0)
    return chat


def test_a_lost_token_is_asked_again_warmer_then_fails() -> None:
    seen: list[ChatRequest] = []
    bad = ChatResponse(content="파일을 열어")
    with pytest.raises(TaskError) as exc:
        asyncio.run(_task("Open `a.txt` now").run(_chat([bad, bad, bad], seen)))
    assert exc.value.reason == "mask_lost"
    assert str(exc.value) == "turn 1: missing tokens [1] (after 3 tries)"
    assert [r.temperature for r in seen] == [0.0, 0.3, 0.3]
    assert seen[0].messages[1].content == "Open ⟦1⟧ now"

    seen.clear()
    good = ChatResponse(content="  지금 ⟦1⟧ 열어  \n")
    rec = asyncio.run(_task("Open `a.txt` now").run(_chat([bad, good], seen)))
    assert rec["prompt"] == "지금 `a.txt` 열어"
    assert rec["translation"]["requests"] == 2


def test_a_truncated_reply_fails_at_once() -> None:
    seen: list[ChatRequest] = []
    cut = ChatResponse(content="지금 ⟦1⟧", finish_reason="length")
    with pytest.raises(TaskError) as exc:
        asyncio.run(_task("Open `a.txt` now").run(_chat([cut], seen)))
    assert exc.value.reason == "truncated"
    assert len(seen) == 1


def test_an_empty_reply_fails() -> None:
    with pytest.raises(TaskError) as exc:
        asyncio.run(_task("Say hi").run(_chat([ChatResponse(content=" \n")], [])))
    assert exc.value.reason == "empty"
