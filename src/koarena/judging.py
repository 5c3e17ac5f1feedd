"""Judging: two games per question with swapped positions, verdict parsing, follow-up turns.

Game 1 shows the baseline's answer as assistant A and the model's as B; game 2 swaps them
(`koarena.battles` reads game 2's label mirrored). The judge sees only the answers' content:
a reasoning model's thinking is never shown.

A judge reply with no verdict label, or with several conflicting labels, gets the follow-up user
turn arena-hard uses, up to the protocol's number of attempts. After that the game is recorded
with ``score: None`` and the reason; a label is never invented. (arena-hard v0.1 asked again only
when the label was missing and stored conflicting labels as None at once; a judge that changes
its mind mid-text deserves the same second chance.)

Prompt building and parsing are pure. `JudgeTask` is an engine task (`koarena.engine`), which
owns concurrency, retries, rate limits, resume and the failure log; `judge` runs a plan.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import string
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from koarena.batch.run import BatchOptions, journal_path, run_stage
from koarena.bench import Bench
from koarena.config import DEFAULT_VERDICT_REGEX, JudgeSettings, ModelEndpoint, compile_regex
from koarena.engine import (
    Chat,
    Estimate,
    ProviderFactory,
    ProviderPool,
    RetryPolicy,
    RunOptions,
    RunResult,
    estimate,
    failure_log_path,
    run_async,
    run_summary_path,
)
from koarena.errors import ConfigError, DataError
from koarena.finish import TRUNCATED, FinishPolicy, finish_problem
from koarena.jsonl import LoadReport
from koarena.providers.base import ChatRequest, ChatResponse, Message
from koarena.records import FAILURE_MARKER, Answer, Game, Judgment, Question
from koarena.verdicts import is_label

log = logging.getLogger(__name__)

FOLLOW_UP_PROMPT = "continue your judgment and finish by outputting a final verdict label"
"""The user turn arena-hard sends when a judge reply has no usable verdict."""

DEFAULT_REGEX = DEFAULT_VERDICT_REGEX

ChatFn = Callable[[list[Message], int], Awaitable[ChatResponse]]
"""Sends one conversation to the judge with a token limit and returns its reply (retries are
the caller's job)."""


@dataclass(frozen=True)
class JudgeProtocol:
    """How a judge is asked: prompts, verdict patterns and decoding settings.

    ``prompt_template`` is a list as in arena-hard's YAML: each template becomes one user turn.
    """

    system_prompt: str
    prompt_template: tuple[str, ...]
    regex_patterns: tuple[str, ...] = (DEFAULT_REGEX,)
    attempts: int = 2
    temperature: float = 0.0
    max_tokens: int = 16384
    finish_policy: FinishPolicy = FinishPolicy.FLAG

    def __post_init__(self) -> None:
        if not self.prompt_template:
            raise ConfigError("judge settings: prompt_template is empty")
        if not self.regex_patterns:
            raise ConfigError("judge settings: no verdict regex pattern")
        if self.attempts < 1:
            raise ConfigError("judge settings: number_of_judgment_attempts must be at least 1")
        for pattern in self.regex_patterns:
            if compile_regex(pattern, "judge settings").groups > 1:
                raise ConfigError(
                    f"judge settings: regex {pattern!r} must have at most one capture group"
                )

    @classmethod
    def from_settings(cls, settings: JudgeSettings) -> JudgeProtocol:
        """The protocol of a judge settings file (pairwise against a baseline only)."""
        if not settings.pairwise or not settings.baseline:
            raise ConfigError(
                "judge settings: only pairwise judging against a baseline is "
                "supported (pairwise: true, baseline: true)"
            )
        if settings.reference:
            raise ConfigError("judge settings: reference answers are not supported")
        return cls(
            system_prompt=settings.system_prompt,
            prompt_template=tuple(settings.prompt_template),
            regex_patterns=tuple(settings.regex_patterns),
            attempts=settings.number_of_judgment_attempts,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            finish_policy=settings.finish_policy,
        )

    @property
    def prompt_hash(self) -> str:
        """sha256 of the system prompt and the templates, encoded without ambiguity."""
        payload = orjson.dumps([self.system_prompt, list(self.prompt_template)])
        return "sha256:" + hashlib.sha256(payload).hexdigest()


def answer_problem(answer: Answer | None) -> str | None:
    """Why an answer cannot be judged (``missing``, ``empty``, ``failure marker``), or None.

    >>> answer_problem(None)
    'missing'
    >>> answer_problem(Answer(question_id="q", model="m", turns=["$ERROR$"]))
    'failure marker'
    """
    if answer is None:
        return "missing"
    if answer.is_failure_marker:
        return "failure marker"
    if answer.is_empty:
        return "empty"
    return None


def prompt_args(question: Question, first: Answer, second: Answer) -> dict[str, str]:
    """Template arguments, numbered as arena-hard numbers them.

    ``question_i`` is user turn i; ``answer_1..answer_n`` are the turns of assistant A and
    ``answer_{n+1}..answer_{2n}`` those of assistant B. Single-turn questions also get the
    named arguments of arena-hard 2.0 templates (``QUESTION``, ``ANSWER_A``, ``ANSWER_B``).
    """
    args: dict[str, str] = {}
    for i, turn in enumerate(question.turns):
        args[f"question_{i + 1}"] = turn
    for i, turn in enumerate(first.turns):
        args[f"answer_{i + 1}"] = turn
    base = len(first.turns)
    for i, turn in enumerate(second.turns):
        args[f"answer_{base + i + 1}"] = turn
    if len(question.turns) == 1 and len(first.turns) == 1 and len(second.turns) == 1:
        args["QUESTION"] = question.turns[0]
        args["ANSWER_A"] = first.turns[0]
        args["ANSWER_B"] = second.turns[0]
    return args


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _own_fields(side: str, n_turns: int) -> frozenset[str]:
    """The template arguments that show the judged model's answer when it is assistant
    ``side``."""
    first = 1 if side == "A" else n_turns + 1
    return frozenset({f"ANSWER_{side}", *(f"answer_{first + i}" for i in range(n_turns))})


def shared_prefix(template: str, args: Mapping[str, str], own: frozenset[str]) -> int:
    """How many leading characters of ``template.format(**args)`` come before the first
    argument in ``own``: the part every judged model's prompt repeats (the question, and in
    game 1 the baseline's answer), which a prompt cache can serve.

    >>> shared_prefix("Q: {q}\\nA: {a}\\nB: {b}", {"q": "hi", "a": "x", "b": "y"}, frozenset({"b"}))
    14
    """
    length = 0
    for literal, name, spec, conversion in string.Formatter().parse(template):
        length += len(literal)
        if name is None:
            continue
        if name in own or spec or conversion:
            break
        length += len(args[name])
    return length


def build_messages(
    protocol: JudgeProtocol, question: Question, first: Answer, second: Answer,
    model_side: str | None = None,
) -> list[Message]:
    """The judge conversation showing ``first`` as assistant A and ``second`` as B.

    With ``model_side`` (``A`` or ``B``: where the judged model's answer is), the first user
    turn says how much of it other models' prompts share (`Message.shared_prefix`).

    Raises `ConfigError` when a template needs an argument this question cannot supply, or
    when no template shows B's last turn (arena-hard's single-turn template on a multi-turn
    question would silently compare A's turns with each other).
    """
    args = prompt_args(question, first, second)
    used: set[str] = set()
    for template in protocol.prompt_template:
        used |= _fields(template)
    missing = sorted(used - args.keys())
    if missing:
        raise ConfigError(
            f"judge prompt template needs {', '.join(missing)}, which question "
            f"{question.question_id} ({len(question.turns)} turn(s)) does not supply"
        )
    last_b = f"answer_{len(first.turns) + len(second.turns)}"
    if last_b not in used and "ANSWER_B" not in used:
        raise ConfigError(
            f"judge prompt template does not show assistant B's last turn ({{{last_b}}}) "
            f"for question {question.question_id}: use a template for "
            f"{len(question.turns)}-turn questions"
        )
    messages = [Message(role="system", content=protocol.system_prompt)]
    for i, template in enumerate(protocol.prompt_template):
        prefix = 0
        if i == 0 and model_side is not None:
            prefix = shared_prefix(template, args, _own_fields(model_side, len(first.turns)))
        messages.append(Message(role="user", content=template.format(**args),
                                shared_prefix=prefix))
    return messages


def game_messages(
    protocol: JudgeProtocol, question: Question, baseline: Answer, model: Answer
) -> tuple[list[Message], list[Message]]:
    """Game 1 (baseline as A, model as B) and game 2 (positions swapped)."""
    return (
        build_messages(protocol, question, baseline, model, model_side="B"),
        build_messages(protocol, question, model, baseline, model_side="A"),
    )


@dataclass(frozen=True)
class Verdict:
    """What one judge reply says: a label, or the reason there is none."""

    label: str | None
    reason: str | None = None
    found: tuple[str, ...] = ()


def parse_verdict(text: str, patterns: Sequence[str]) -> Verdict:
    """Find the verdict label in a judge reply.

    Patterns are tried in order; the first one that captures a known label decides. One
    distinct known label is the verdict; several distinct labels conflict; captures that are
    not verdict labels (``[[A]]``) do not count.

    >>> parse_verdict("My final verdict is: [[B>A]]", [DEFAULT_REGEX]).label
    'B>A'
    >>> parse_verdict("[[A>B]] ... [[B>A]]", [DEFAULT_REGEX]).reason
    'conflicting verdict labels: A>B, B>A'
    """
    unknown: list[str] = []
    for pattern in patterns:
        captured = [m.strip() for m in re.findall(pattern, text)]
        known = [m for m in captured if is_label(m)]
        unknown += [m for m in captured if m and not is_label(m)]
        distinct = tuple(dict.fromkeys(known))
        if len(distinct) == 1:
            return Verdict(label=distinct[0], found=distinct)
        if len(distinct) > 1:
            return Verdict(
                label=None,
                reason="conflicting verdict labels: " + ", ".join(distinct),
                found=distinct,
            )
    if unknown:
        return Verdict(
            label=None, reason="no known verdict label (found: " + ", ".join(unknown) + ")"
        )
    return Verdict(label=None, reason="no verdict label")


@dataclass
class GameResult:
    """One game as played: the conversation, the judge's replies and the outcome."""

    messages: list[Message]
    replies: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish_reasons: list[str | None] = field(default_factory=list)
    score: str | None = None
    reason: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    kept: bool = False

    def add_usage(self, response: ChatResponse) -> None:
        """Count a reply's tokens (a reply asked again with more tokens is counted too)."""
        self.input_tokens += response.usage.input_tokens
        self.output_tokens += response.usage.output_tokens
        self.cached_input_tokens += response.usage.cached_input_tokens

    def to_game(self) -> Game:
        """The stored game: v0.1 fields (``score``, ``user_prompt``, ``judgment``) and more."""
        user_prompt = next((m.content for m in self.messages if m.role == "user"), "")
        extra: dict[str, Any] = {
            "user_prompt": user_prompt,
            # arena-hard stored the replies concatenated, each after a newline
            "judgment": "".join("\n" + r for r in self.replies),
            "messages": [{"role": m.role, "content": m.content} for m in self.messages],
            "attempts": len(self.replies),
            "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                      "cached_input_tokens": self.cached_input_tokens},
            "finish_reasons": list(self.finish_reasons),
        }
        if self.kept:
            extra["finish_policy"] = "keep"
        if any(self.reasoning):
            extra["judge_reasoning"] = list(self.reasoning)
        if self.score is None:
            extra["unparsed_reason"] = self.reason
        return Game(score=self.score, extra=extra)


async def judge_game(chat: ChatFn, protocol: JudgeProtocol, messages: list[Message]) -> GameResult:
    """Play one game: ask, parse, and send the follow-up turn while no verdict is usable."""
    conversation = list(messages)
    result = GameResult(messages=conversation)
    verdict = Verdict(label=None, reason="no verdict label")
    for attempt in range(protocol.attempts):
        if attempt:
            conversation.append(Message(role="user", content=FOLLOW_UP_PROMPT))
        response = await chat(list(conversation), protocol.max_tokens)
        if (protocol.finish_policy is FinishPolicy.RETRY
                and finish_problem(response.finish_reason) == TRUNCATED):
            result.add_usage(response)
            response = await chat(list(conversation), 2 * protocol.max_tokens)
        conversation.append(Message(role="assistant", content=response.content))
        result.replies.append(response.content)
        result.reasoning.append(response.reasoning)
        result.finish_reasons.append(response.finish_reason)
        result.add_usage(response)
        if (protocol.finish_policy is FinishPolicy.KEEP
                and finish_problem(response.finish_reason) is not None):
            result.kept = True
        # Only the newest reply is parsed: after a conflict, the follow-up's single label is
        # the judge's final word, while the earlier reply would still conflict with it.
        verdict = parse_verdict(response.content, protocol.regex_patterns)
        if verdict.label is not None:
            result.score = verdict.label
            return result
    result.reason = f"{verdict.reason} after {protocol.attempts} attempt(s)"
    return result


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
class JudgeTask:
    """Both games of one question for one judge and model: a `koarena.engine.Task`.

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

        A request the engine gives up on propagates, so a failed judgment is never written.
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


@dataclass
class JudgePlan:
    """The judge tasks of a run (done ones included: the engine skips those) and the
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
    disk are left to the engine's resume; those made with another prompt or baseline are kept
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


def judge(
    bench: Bench,
    plan: JudgePlan,
    endpoints: dict[str, ModelEndpoint],
    *,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    console: Console | None = None,
    factory: ProviderFactory | None = None,
    batch: BatchOptions | None = None,
) -> RunResult:
    """Request every judgment of the plan not yet on disk; return the run summary.
    With ``batch``, batch-mode judges go through their batch APIs (`koarena.batch.run`)."""
    options = RunOptions(
        stage="judge",
        failure_log=failure_log_path(bench, "judge"),
        summary_file=run_summary_path(bench),
        progress=progress,
        console=console,
    )

    tasks = plan.tasks
    if batch is not None:
        tasks = [replace(t, games_together=True)
                 if batch.all_models or endpoints[t.model].batch else t for t in tasks]

    async def go() -> RunResult:
        pool = ProviderPool(endpoints, factory=factory, retry=retry)
        try:
            return await run_stage(tasks, pool, options, batch, journal_path(bench))
        finally:
            await pool.aclose()

    return run_async(go())


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
