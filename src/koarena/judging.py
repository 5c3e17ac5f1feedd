"""Judging a bench: which games to play (`plan_judging`), and playing them (`judge`).

The protocol itself (prompts, verdict parsing, the two games) is `koarena.judge_protocol`.
`JudgeTask` is a runner task (`koarena.runner`), which owns concurrency, retries, rate limits,
resume and the failure log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koarena.bench import Bench
from koarena.config import JudgeSettings, ModelEndpoint
from koarena.errors import ConfigError, DataError
from koarena.jsonl import LoadReport
from koarena.judge_protocol import JudgeProtocol, answer_problem, game_messages, judge_game
from koarena.providers.base import ChatRequest, ChatResponse, Message
from koarena.records import FAILURE_MARKER, Answer, Judgment, Question
from koarena.runner.estimate import Estimate, estimate
from koarena.runner.run import RunResult, StageRunner
from koarena.runner.tasks import Chat, QuestionTask

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class JudgeIdentity:
    """What produced a judgment, stored with every record.

    ``judge`` is the endpoint-file name (the ``model_judgment/<judge>/`` directory);
    ``judge_model`` the model name the API was asked for.
    """

    judge: str
    judge_model: str
    baseline: str

    def record_fields(self, protocol: JudgeProtocol) -> dict[str, Any]:
        return {
            "judge_model": self.judge_model,
            "baseline": self.baseline,
            "prompt_hash": protocol.prompt_hash,
            "temperature": protocol.temperature,
            "max_tokens": protocol.max_tokens,
        }


@dataclass(frozen=True)
class JudgeTask(QuestionTask):
    """Both games of one question for one judge and model: a `koarena.runner.tasks.Task`.

    The task holds the question and the two answers, and builds the conversations only when
    it runs (or is estimated): a plan of several judges and models holding every formatted
    prompt would grow with the plan, and each prompt sent would also keep its UTF-8 copy
    (docs/benchmarks.md, memory). `plan_judging` checks the template against every question
    before anything is sent.
    """

    question: Question
    baseline_answer: Answer
    model_answer: Answer
    judged_model: str
    protocol: JudgeProtocol
    identity: JudgeIdentity
    output: Path

    @property
    def model(self) -> str:
        return self.identity.judge

    def games(self) -> tuple[list[Message], list[Message]]:
        """Game 1 (baseline as A) and game 2 (positions swapped)."""
        return game_messages(self.protocol, self.question, self.baseline_answer,
                             self.model_answer)

    def _request(self, messages: list[Message]) -> ChatRequest:
        return ChatRequest(
            model=self.identity.judge,
            messages=messages,
            temperature=self.protocol.temperature,
            max_tokens=self.protocol.max_tokens,
        )

    def planned_requests(self) -> list[ChatRequest]:
        # Follow-up turns depend on the replies, so a dry run counts the first turns only.
        return [self._request(messages) for messages in self.games()]

    async def run(self, chat: Chat) -> dict[str, Any]:
        """Play game 1 then game 2 and return the judgment record.

        A request the runner gives up on propagates, so a failed judgment is never written.
        """

        async def ask(messages: list[Message]) -> ChatResponse:
            return await chat(self._request(messages))

        results = [await judge_game(ask, self.protocol, messages) for messages in self.games()]
        return Judgment(
            question_id=self.key,
            model=self.judged_model,
            judge=self.identity.judge,
            games=[r.to_game() for r in results],
            extra={**self.identity.record_fields(self.protocol), "tstamp": time.time()},
        ).to_dict()


def unjudgeable(
    questions: Sequence[Question],
    baseline_answers: Mapping[str, Answer],
    model_answers: Mapping[str, Answer],
) -> tuple[list[Question], dict[str, list[str]]]:
    """Split questions into those that can be judged and the rest, by reason.

    Returns the judgeable questions and ``{reason: [question_id, ...]}`` where a reason reads
    like ``model answer missing`` or ``baseline answer failure marker``. The failure marker is
    the literal text the original tool stored for a failed call.
    """
    ok: list[Question] = []
    skipped: dict[str, list[str]] = {}
    for q in questions:
        problem = answer_problem(model_answers.get(q.question_id))
        who = "model"
        if problem is None:
            problem = answer_problem(baseline_answers.get(q.question_id))
            who = "baseline"
        if problem is None:
            ok.append(q)
        else:
            label = f"{who} answer {problem}"
            if problem == "failure marker":
                label += f" {FAILURE_MARKER}"
            skipped.setdefault(label, []).append(q.question_id)
    return ok, skipped


@dataclass
class JudgePlan:
    """The judge tasks of a run (done ones included: the runner skips those) and the
    questions left out because an answer cannot be judged."""

    tasks: list[JudgeTask] = field(default_factory=list)
    skipped: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """model → {reason: question ids} of answers that cannot be judged."""

    def skipped_counts(self) -> dict[str, int]:
        """Left-out questions by reason over all models (every judge leaves out the same)."""
        counts: dict[str, int] = {}
        for by_reason in self.skipped.values():
            for reason, ids in by_reason.items():
                counts[reason] = counts.get(reason, 0) + len(ids)
        return counts


def plan_judging(
    bench: Bench,
    protocol: JudgeProtocol,
    judges: Mapping[str, str],
    models: Sequence[str],
    baseline: str,
) -> JudgePlan:
    """One task per judge, model and judgeable question.

    ``judges`` maps each judge's endpoint-file name to its API model name. Judgments already on
    disk are left to the runner's resume; those made with another prompt or baseline are kept
    but reported, because silently mixing protocols would skew the leaderboard.
    """
    questions = bench.load_questions()
    baseline_answers = _answers(bench, baseline, "baseline")
    plan = JudgePlan()
    for model in models:
        model_answers = _answers(bench, model, "model")
        judgeable, skipped = unjudgeable(questions, baseline_answers, model_answers)
        if skipped:
            plan.skipped[model] = skipped
        for q in judgeable:
            # Fail on a template that does not fit before anything is sent; the tasks build
            # their conversations again when they run.
            game_messages(protocol, q, baseline_answers[q.question_id],
                          model_answers[q.question_id])
        for judge, judge_model in judges.items():
            _warn_foreign(bench, judge, model, protocol, baseline)
            identity = JudgeIdentity(judge=judge, judge_model=judge_model, baseline=baseline)
            output = bench.judgment_file(judge, model)
            plan.tasks += [
                JudgeTask(
                    question=q,
                    baseline_answer=baseline_answers[q.question_id],
                    model_answer=model_answers[q.question_id],
                    judged_model=model,
                    protocol=protocol,
                    identity=identity,
                    output=output,
                )
                for q in judgeable
            ]
    return plan


def _answers(bench: Bench, model: str, role: str) -> dict[str, Answer]:
    if not bench.answer_file(model).is_file():
        raise DataError(
            f"no answers of {role} {model!r} in {bench.answer_dir} (run 'koarena answer' first)"
        )
    report = LoadReport()
    answers = bench.load_answers(model, strict=False, report=report)
    if report.malformed:
        # Such lines are skipped; their questions then count as missing answers.
        log.warning(
            "%s: %d malformed line(s) skipped", bench.answer_file(model), len(report.malformed)
        )
    return answers


def _warn_foreign(
    bench: Bench, judge: str, model: str, protocol: JudgeProtocol, baseline: str
) -> None:
    path = bench.judgment_file(judge, model)
    if not path.is_file():
        return
    foreign = sum(
        1
        for j in bench.load_judgments(judge, model, strict=False)
        if j.extra.get("prompt_hash", protocol.prompt_hash) != protocol.prompt_hash
        or j.extra.get("baseline", baseline) != baseline
    )
    if foreign:
        log.warning(
            "%d judgment(s) of %s by %s were made with another prompt or baseline; they are "
            "kept (delete %s to judge again)",
            foreign,
            model,
            judge,
            path,
        )


def select_judges(
    settings: JudgeSettings, endpoints: Mapping[str, ModelEndpoint], requested: Sequence[str] | None
) -> dict[str, str]:
    """``--judge`` names, else the settings' ``judge_model``(s), each mapped to its API model."""
    names = list(dict.fromkeys(requested or settings.judge_models))
    missing = [j for j in names if j not in endpoints]
    if missing:
        raise ConfigError(f"judge(s) not in the endpoint file: {', '.join(missing)}")
    return {j: endpoints[j].model_name for j in names}


def select_models(settings: JudgeSettings, requested: Sequence[str] | None) -> list[str]:
    """``--model`` names, else the settings' ``model_list``; their answers must be on disk."""
    models = list(dict.fromkeys(requested or settings.model_list))
    if not models:
        raise ConfigError("no models to judge: give --model or a model_list in the settings")
    return models


def expected_reply_tokens(bench: Bench, judges: Iterable[str]) -> int | None:
    """Mean output tokens per judge reply in the judgments these judges already wrote.

    The dry run's likely cost uses it; without earlier judgments only the ``max_tokens``
    bound is known, and inventing a typical length would make the dollars look exact.
    """
    tokens = replies = 0
    for judge_name in judges:
        if not bench.judgment_dir(judge_name).is_dir():
            continue
        for model in bench.judged_models(judge_name):
            for j in bench.load_judgments(judge_name, model, strict=False):
                for g in j.games:
                    usage = g.extra.get("usage") if g is not None else None
                    attempts = g.extra.get("attempts") if g is not None else None
                    if isinstance(usage, dict) and isinstance(attempts, int) and attempts > 0:
                        tokens += int(usage.get("output_tokens", 0))
                        replies += attempts
    return round(tokens / replies) if replies else None


def dry_run(plan: JudgePlan, expected_output_tokens: int | None = None) -> Estimate:
    """What the plan's missing judgments would send (first turns only; nothing is sent)."""
    return estimate(plan.tasks, expected_output_tokens=expected_output_tokens)


def judge(bench: Bench, plan: JudgePlan, runner: StageRunner) -> RunResult:
    """Request every judgment of the plan not yet on disk; return the run summary."""
    return runner.run(bench, "judge", plan.tasks)


def unparsed_games(
    bench: Bench, judges: Iterable[str], models: Iterable[str]
) -> dict[tuple[str, str], int]:
    """(judge, model) → games on disk stored without a verdict, where there are any."""
    out: dict[tuple[str, str], int] = {}
    for judge_name in judges:
        for model in models:
            if not bench.judgment_file(judge_name, model).is_file():
                continue
            n = sum(
                1
                for j in bench.load_judgments(judge_name, model, strict=False)
                for g in j.games
                if g is None or g.score is None
            )
            if n:
                out[(judge_name, model)] = n
    return out
