"""Judging a bench: which games to play (`plan_judging`), and playing them (`judge`).

The protocol itself (prompts, verdict parsing, the two games) is `koarena.judge_protocol`.
`JudgeTask` is a runner task (`koarena.runner`), which owns concurrency, retries, rate limits,
resume and the failure log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from koarena.bench import Bench
from koarena.categories import Categories, check_questions
from koarena.config import JudgeSettings, ModelEndpoint
from koarena.errors import ConfigError, DataError
from koarena.jsonl import LoadReport
from koarena.judge_protocol import (
    GameResult,
    JudgeProtocol,
    answer_problem,
    game_messages,
    judge_game,
)
from koarena.providers.base import ChatRequest, ChatResponse, Message
from koarena.records import FAILURE_MARKER, Answer, Judgment, Question
from koarena.runner.estimate import Estimate, estimate
from koarena.runner.run import RunResult, StageRunner
from koarena.runner.tasks import Chat

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
    category: str | None = None
    """The question's category when the bench judges per category (Arena-Hard v2.0)."""

    def record_fields(self, protocol: JudgeProtocol) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "judge_model": self.judge_model,
            "baseline": self.baseline,
            "prompt_hash": protocol.prompt_hash,
            "temperature": protocol.temperature,
            "max_tokens": protocol.max_tokens,
        }
        if self.category is not None:
            fields["category"] = self.category
        return fields


@dataclass(frozen=True)
class JudgeTask:
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
    games_together: bool = False
    """Play both games at once (batch mode: both go in the same round of batches)."""

    @property
    def key(self) -> str:
        return self.question.question_id

    @property
    def model(self) -> str:
        return self.identity.judge

    def games(self) -> tuple[list[Message], list[Message]]:
        """Game 1 (baseline as A) and game 2 (positions swapped)."""
        return game_messages(self.protocol, self.question, self.baseline_answer,
                             self.model_answer)

    def _request(self, messages: list[Message], max_tokens: int | None = None) -> ChatRequest:
        return ChatRequest(
            model=self.identity.judge,
            messages=messages,
            temperature=self.protocol.temperature,
            max_tokens=max_tokens or self.protocol.max_tokens,
        )

    def planned_requests(self) -> list[ChatRequest]:
        # Follow-up turns depend on the replies, so a dry run counts the first turns only.
        return [self._request(messages) for messages in self.games()]

    async def run(self, chat: Chat) -> dict[str, Any]:
        """Play game 1 then game 2 and return the judgment record.

        A request the runner gives up on propagates, so a failed judgment is never written.
        """

        async def ask(messages: list[Message], max_tokens: int) -> ChatResponse:
            return await chat(self._request(messages, max_tokens))

        games = [judge_game(ask, self.protocol, messages) for messages in self.games()]
        if self.games_together:
            results = await _together(games)
        else:
            # One after the other online: a game 1 that fails costs no game 2 request.
            results = [await game for game in games]
        return Judgment(
            question_id=self.key,
            model=self.judged_model,
            judge=self.identity.judge,
            games=[r.to_game() for r in results],
            extra={**self.identity.record_fields(self.protocol), "tstamp": time.time()},
        ).to_dict()


async def _together(games: list[Coroutine[Any, Any, GameResult]]) -> list[GameResult]:
    """Await the games concurrently; when one fails, cancel the other and raise."""
    running = [asyncio.ensure_future(g) for g in games]
    try:
        return list(await asyncio.gather(*running))
    except BaseException:
        for r in running:
            r.cancel()
        raise


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


@dataclass(frozen=True)
class Route:
    """How one category's questions are judged: the baseline and the protocol (whose system
    prompt is the category's). ``category`` is None on a single-baseline bench."""

    baseline: str
    protocol: JudgeProtocol
    category: str | None = None


@dataclass(frozen=True)
class MissingBaseline:
    """Questions of a category that cannot be judged because its baseline has no answer."""

    category: str | None
    baseline: str
    missing: int
    questions: int


@dataclass
class JudgePlan:
    """The judge tasks of a run (done ones included: the runner skips those) and the
    questions left out because an answer cannot be judged."""

    tasks: list[JudgeTask] = field(default_factory=list)
    skipped: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """model → {reason: question ids} of answers that cannot be judged."""
    routes: list[Route] = field(default_factory=list)
    missing_baselines: list[MissingBaseline] = field(default_factory=list)
    """Per category, baseline answers missing (reported before anything is sent)."""

    def skipped_counts(self) -> dict[str, int]:
        """Left-out questions by reason over all models (every judge leaves out the same)."""
        counts: dict[str, int] = {}
        for by_reason in self.skipped.values():
            for reason, ids in by_reason.items():
                counts[reason] = counts.get(reason, 0) + len(ids)
        return counts

    def by_category(self) -> dict[str | None, list[JudgeTask]]:
        """The tasks grouped by their question's category, in the routes' order."""
        groups: dict[str | None, list[JudgeTask]] = {r.category: [] for r in self.routes}
        for t in self.tasks:
            groups.setdefault(t.identity.category, []).append(t)
        return groups


def question_routes(
    questions: Sequence[Question],
    protocol: JudgeProtocol,
    baseline: str | None,
    categories: Categories | None,
) -> dict[str, Route]:
    """question id → its route. With ``categories`` each question is judged against its
    category's baseline with its category's system prompt (the original ``gen_judgment.py``
    rule); a category without settings is a `DataError`. Without them, one route for all."""
    if not categories:
        if not baseline:
            raise ConfigError("judge settings: neither a baseline_model nor categories")
        single = Route(baseline=baseline, protocol=protocol)
        return {q.question_id: single for q in questions}
    check_questions(questions, categories)
    routes = {
        c.name: Route(c.baseline, replace(protocol, system_prompt=c.system_prompt), c.name)
        for c in categories.values()
    }
    return {q.question_id: routes[q.category] for q in questions}


def plan_judging(
    bench: Bench,
    protocol: JudgeProtocol,
    judges: Mapping[str, str],
    models: Sequence[str],
    baseline: str | None,
    *,
    categories: Categories | None = None,
) -> JudgePlan:
    """One task per judge, model and judgeable question.

    ``judges`` maps each judge's endpoint-file name to its API model name. With
    ``categories`` (Arena-Hard v2.0) each question is compared with its category's baseline's
    answer under its category's system prompt; a baseline with no answers for some of its
    category's questions is listed in ``missing_baselines`` and those questions are skipped.
    Judgments already on disk are left to the runner's resume; those made with another prompt
    or baseline are kept but reported, because silently mixing protocols would skew the
    leaderboard.
    """
    questions = bench.load_questions()
    route_of = question_routes(questions, protocol, baseline, categories)
    plan = JudgePlan(routes=list(dict.fromkeys(route_of.values())))
    answers_of = {
        r.baseline: _answers(bench, r.baseline, "baseline", required=not categories)
        for r in plan.routes
    }
    baseline_answers: dict[str, Answer] = {}
    for q in questions:
        a = answers_of[route_of[q.question_id].baseline].get(q.question_id)
        if a is not None:
            baseline_answers[q.question_id] = a
    if categories:
        for r in plan.routes:
            ids = [q for q, qr in route_of.items() if qr == r]
            missing = sum(q not in baseline_answers for q in ids)
            if missing:
                plan.missing_baselines.append(
                    MissingBaseline(r.category, r.baseline, missing, len(ids)))
    for model in models:
        model_answers = _answers(bench, model, "model")
        judgeable, skipped = unjudgeable(questions, baseline_answers, model_answers)
        if skipped:
            plan.skipped[model] = skipped
        for q in judgeable:
            # Fail on a template that does not fit before anything is sent; the tasks build
            # their conversations again when they run.
            game_messages(route_of[q.question_id].protocol, q, baseline_answers[q.question_id],
                          model_answers[q.question_id])
        for judge, judge_model in judges.items():
            _warn_foreign(bench, judge, model, route_of)
            identities = {
                r: JudgeIdentity(judge=judge, judge_model=judge_model, baseline=r.baseline,
                                 category=r.category)
                for r in plan.routes
            }
            output = bench.judgment_file(judge, model)
            plan.tasks += [
                JudgeTask(
                    question=q,
                    baseline_answer=baseline_answers[q.question_id],
                    model_answer=model_answers[q.question_id],
                    judged_model=model,
                    protocol=route_of[q.question_id].protocol,
                    identity=identities[route_of[q.question_id]],
                    output=output,
                )
                for q in judgeable
            ]
    return plan


def _answers(bench: Bench, model: str, role: str, *, required: bool = True) -> dict[str, Answer]:
    if not bench.answer_file(model).is_file():
        if not required:
            return {}
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


def _warn_foreign(bench: Bench, judge: str, model: str, route_of: Mapping[str, Route]) -> None:
    path = bench.judgment_file(judge, model)
    if not path.is_file():
        return
    foreign = 0
    for j in bench.load_judgments(judge, model, strict=False):
        route = route_of.get(j.question_id)
        if route is None:
            continue
        foreign += (
            j.extra.get("prompt_hash", route.protocol.prompt_hash) != route.protocol.prompt_hash
            or j.extra.get("baseline", route.baseline) != route.baseline
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
    """Request every judgment of the plan not yet on disk; return the run summary. A judge in
    batch mode plays both games of a question in the same round of batches."""
    tasks = [replace(t, games_together=True) if runner.batched(t.model) else t
             for t in plan.tasks]
    return runner.run(bench, "judge", tasks)


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
