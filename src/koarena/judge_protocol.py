"""The judge protocol, pure: prompts, verdict parsing and the two games.

Game 1 shows the baseline's answer as assistant A and the model's as B; game 2 swaps them
(`koarena.verdicts.game_outcome` reads game 2's label mirrored). The judge sees only the
answers' content: a reasoning model's thinking is never shown.

A judge reply with no verdict label, or with several conflicting labels, gets the follow-up user
turn arena-hard uses, up to the protocol's number of attempts. After that the game is recorded
with ``score: None`` and the reason; a label is never invented. (arena-hard v0.1 asked again only
when the label was missing and stored conflicting labels as None at once; a judge that changes
its mind mid-text deserves the same second chance.)

Nothing here does I/O: `judge_game` talks to the judge through the function it is given.
`koarena.judging` plans the games of a bench and runs them.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from koarena.config import DEFAULT_VERDICT_REGEX, JudgeSettings, compile_regex
from koarena.errors import ConfigError
from koarena.finish import TRUNCATED, FinishPolicy, finish_problem
from koarena.providers.base import ChatResponse, Message
from koarena.records import Answer, Game, Question
from koarena.verdicts import is_label

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
            return Verdict(label=distinct[0])
        if len(distinct) > 1:
            return Verdict(label=None, reason="conflicting verdict labels: " + ", ".join(distinct))
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
