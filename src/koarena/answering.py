"""Questions → answers: one `AnswerTask` per (model, question), run by `koarena.runner`.

Each user turn is sent with the previous turns and the model's earlier answers (content only:
reasoning is never sent back). The record is the v0.1 answer with ``conv_metadata`` of the last
turn; reasoning is stored apart in ``choices[0].turns[i].reasoning``. Only successful answers
are written; a resumed run asks only for the questions a model has no answer to yet.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koarena.bench import Bench
from koarena.config import AnswerSettings, ModelEndpoint
from koarena.errors import ConfigError, DataError
from koarena.finish import TRUNCATED, FinishPolicy, finish_problem
from koarena.providers.base import ChatRequest, Message
from koarena.records import Answer, Question
from koarena.runner.estimate import Estimate, estimate
from koarena.runner.run import RunResult, StageRunner
from koarena.runner.tasks import Chat, Task
from koarena.style import conv_metadata

# Likely answer length for a dry run when the bench has no baseline answers to average.
DEFAULT_EXPECTED_ANSWER_TOKENS = 1000


def answer_id(model: str, question_id: str, turns: list[str]) -> str:
    """A stable id: the same answer always gets the same id (resumed runs compare equal)."""
    h = hashlib.blake2b(digest_size=12)
    for part in (model, question_id, *turns):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


@dataclass(frozen=True)
class AnswerTask:
    """Ask ``model`` one question (all its turns)."""

    question: Question
    model: str
    output: Path
    temperature: float
    max_tokens: int
    finish_policy: FinishPolicy = FinishPolicy.FLAG

    @property
    def key(self) -> str:
        return self.question.question_id

    def _request(self, messages: list[Message], max_tokens: int | None = None) -> ChatRequest:
        return ChatRequest(model=self.model, messages=list(messages),
                           temperature=self.temperature,
                           max_tokens=max_tokens or self.max_tokens)

    def planned_requests(self) -> list[ChatRequest]:
        # Later turns also carry the earlier answers, unknown before the run: counted without.
        msgs: list[Message] = []
        out = []
        for turn in self.question.turns:
            msgs.append(Message("user", turn))
            out.append(self._request(msgs))
        return out

    async def run(self, chat: Chat) -> dict[str, Any]:
        messages: list[Message] = []
        turns: list[str] = []
        reasoning: list[str] = []
        finish: list[str | None] = []
        for turn in self.question.turns:
            messages.append(Message("user", turn))
            resp = await chat(self._request(messages))
            if (self.finish_policy is FinishPolicy.RETRY
                    and finish_problem(resp.finish_reason) == TRUNCATED):
                resp = await chat(self._request(messages, 2 * self.max_tokens))
            messages.append(Message("assistant", resp.content))
            turns.append(resp.content)
            reasoning.append(resp.reasoning)
            finish.append(resp.finish_reason)
        kept = (self.finish_policy is FinishPolicy.KEEP
                and any(finish_problem(f) is not None for f in finish))
        answer = Answer(
            question_id=self.question.question_id,
            model=self.model,
            turns=turns,
            answer_id=answer_id(self.model, self.question.question_id, turns),
            tstamp=time.time(),
            meta=conv_metadata(turns[-1]),
            reasoning=reasoning if any(reasoning) else [],
            finish_reasons=finish if any(finish) else [],
            extra={"finish_policy": "keep"} if kept else {},
        )
        return answer.to_dict()


def build_tasks(bench: Bench, models: list[str], settings: AnswerSettings) -> list[Task]:
    """One task per model and question, in question order."""
    questions = bench.load_questions()
    tasks: list[Task] = []
    for model in models:
        out = bench.answer_file(model)
        tasks.extend(AnswerTask(q, model, out, settings.temperature, settings.max_tokens,
                                settings.finish_policy)
                     for q in questions)
    return tasks


def select_models(settings: AnswerSettings, endpoints: dict[str, ModelEndpoint],
                  requested: list[str] | None) -> list[str]:
    """``--model`` names, else the setting file's ``model_list``; each must be configured."""
    models = requested or settings.model_list
    if not models:
        raise ConfigError("no models to answer: give --model or a model_list in the settings")
    missing = [m for m in models if m not in endpoints]
    if missing:
        raise ConfigError(f"not in the endpoint file: {', '.join(missing)}")
    return list(dict.fromkeys(models))


def expected_answer_tokens(bench: Bench) -> int:
    """Mean published answer length of the bench's baseline, for dry-run dollar estimates."""
    baseline = bench.default_baseline()
    if baseline is None or not bench.answer_file(baseline).is_file():
        return DEFAULT_EXPECTED_ANSWER_TOKENS
    try:
        lens = [a.meta.token_len for a in bench.load_answers(baseline, strict=False).values()
                if a.meta is not None]
    except DataError:
        return DEFAULT_EXPECTED_ANSWER_TOKENS
    return round(sum(lens) / len(lens)) if lens else DEFAULT_EXPECTED_ANSWER_TOKENS


def dry_run(bench: Bench, models: list[str], settings: AnswerSettings) -> Estimate:
    return estimate(build_tasks(bench, models, settings),
                    expected_output_tokens=expected_answer_tokens(bench))


def answer(bench: Bench, models: list[str], settings: AnswerSettings,
           runner: StageRunner) -> RunResult:
    """Answer every question each model has not answered yet; return the run summary."""
    return runner.run(bench, "answer", build_tasks(bench, models, settings))
