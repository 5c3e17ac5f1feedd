"""What the runner runs: the `Task` contract, and which tasks are already done (resume).

A *task* produces one output record (an answer to a question, a judgment of a question):

- ``key: str`` — unique within its output file (the question id). If a record with that
  ``question_id`` (or ``uid``) is already in ``output``, the task is done and is skipped: this
  is resume.
- ``model: str`` — the endpoint-file name of the model its requests go to (limits, usage, cost).
- ``output: Path`` — the JSONL file its record is appended to (whole lines, flock).
- ``planned_requests() -> list[ChatRequest]`` — the requests it will send at least; used only
  by the dry-run estimate.
- ``async run(chat: Chat) -> dict`` — build requests, ``await chat(request)`` as often as
  needed (a judge's two games, a follow-up turn after reading the first reply), and return the
  record. ``request.model`` is the endpoint-file name; the pool maps it to the API model name.
  Raise `TaskError(reason, message)` to fail without writing. A `ProviderError` that
  `chat` gives up on fails the task too. A failed task writes nothing to ``output``; it goes
  to the failure log with its reason and the next run retries it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from koarena.errors import DataError
from koarena.jsonl import iter_jsonl
from koarena.providers.base import ChatRequest, ChatResponse
from koarena.records import Question

Chat = Callable[[ChatRequest], Awaitable[ChatResponse]]


class TaskError(Exception):
    """A task failed for a reason of its own (not a provider failure); nothing is written."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Task(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def output(self) -> Path: ...

    def planned_requests(self) -> list[ChatRequest]: ...

    async def run(self, chat: Chat) -> dict[str, Any]: ...


class QuestionTask:
    """Base of the tasks that make one record per question: the question is the key."""

    question: Question

    @property
    def key(self) -> str:
        return self.question.question_id


def record_key(record: dict[str, Any]) -> str | None:
    """The key a record on disk answers: its ``question_id`` (v0.1) or ``uid`` (v2.0)."""
    qid = record.get("question_id", record.get("uid"))
    return qid if isinstance(qid, str) else None


def completed_keys(path: Path) -> set[str]:
    """Keys of the records already in ``path`` (a torn last line is ignored). A bad line in
    the middle stops the run before anything is sent: appending to such a file would only
    make a file that every later command refuses."""
    if not path.is_file():
        return set()
    keys: set[str] = set()
    try:
        for _, rec in iter_jsonl(path):
            k = record_key(rec)
            if k is not None:
                keys.add(k)
    except DataError as exc:
        raise DataError(f"{exc}; fix or remove that line to resume") from exc
    return keys


def pending_tasks(tasks: Iterable[Task]) -> tuple[list[Task], int]:
    """The tasks whose record is not yet in their output file, and how many were skipped."""
    done_by_file: dict[Path, set[str]] = {}
    todo: list[Task] = []
    skipped = 0
    for t in tasks:
        keys = done_by_file.get(t.output)
        if keys is None:
            keys = done_by_file[t.output] = completed_keys(t.output)
        if t.key in keys:
            skipped += 1
        else:
            todo.append(t)
    return todo, skipped
