"""The fake model behind every route: configuration, deterministic answers and verdicts,
injected faults and request counters, independent of the wire format.

An answer's text is derived from a hash of the model name and the conversation, and a judge
prompt (recognised by the ``<|The Start of Assistant A's Answer|>`` marker) gets a verdict label
derived from the same hash. Models whose name ends in ``-think`` put their reasoning in
``<think>`` tags inside the content; names ending in ``-reasoner`` return it beside the content
(DeepSeek's ``reasoning_content``). A translation request (the translator's system prompt) gets
a deterministic Korean rendering with its mask tokens kept (`koarena.testing.translator`).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from koarena.errors import ConfigError
from koarena.testing.faults import FILTER_FAULTS, STATUS_FAULTS, TRANSLATION_FAULTS, FaultRule
from koarena.testing.translator import fake_translation, faulty_translation, is_translation
from koarena.verdicts import LABELS
from koarena.yamlfile import load_mapping

JUDGE_MARKER = "<|The Start of Assistant A's Answer|>"
DEFAULT_ANSWER_TOKENS = 60


@dataclass
class FakeConfig:
    """Behaviour of the fake server. ``latency`` is seconds before each response."""

    latency: float = 0.0
    faults: list[FaultRule] = field(default_factory=list)
    answer_tokens: int = DEFAULT_ANSWER_TOKENS
    require_key: str | None = None
    request_log: Path | None = None
    batch_delay: float = 0.0
    """Seconds a batch stays in progress (half its items done after half the time)."""
    batch_expire: bool = False
    """Batches expire instead of ending: only the first half of their items have results."""

    @classmethod
    def from_file(cls, path: Path) -> FakeConfig:
        """Load a YAML script: ``latency``, ``answer_tokens``, ``faults: [{kind, match, ...}]``."""
        raw = load_mapping(path, ConfigError)
        try:
            faults = [FaultRule(**f) for f in raw.get("faults", [])]
        except TypeError as exc:
            raise ConfigError(f"{path}: bad fault rule ({exc})") from exc
        return cls(
            latency=float(raw.get("latency", 0.0)),
            faults=faults,
            answer_tokens=int(raw.get("answer_tokens", DEFAULT_ANSWER_TOKENS)),
            batch_delay=float(raw.get("batch_delay", 0.0)),
            batch_expire=bool(raw.get("batch_expire", False)),
        )


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8"))
        h.update(b"\x00")
    return h.digest()


def verdict_for(model: str, user_text: str) -> str:
    """The deterministic verdict label the fake judge gives for a judge prompt."""
    return LABELS[_digest(model, user_text)[0] % len(LABELS)]


def answer_for(model: str, user_text: str, n_words: int) -> str:
    """A deterministic markdown answer: a header, a list and some bold text."""
    d = _digest(model, user_text).hex()
    words = " ".join(f"단어{d[(i * 2) % 32:(i * 2) % 32 + 2]}" for i in range(n_words))
    return f"## {model} 답변 {d[:8]}\n\n- **요점** {d[8:16]}\n- 항목 {d[16:24]}\n\n{words}\n"


def block_text(content: Any) -> str:
    """A message's text: a string, or the text of its content blocks (Anthropic's list form,
    which carries ``cache_control`` marks), joined."""
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return "" if content is None else str(content)


def cache_prefixes(body: dict[str, Any]) -> list[str]:
    """The cacheable prefixes of a chat body: the text up to each ``cache_control`` mark
    (Anthropic's explicit caching), else the system message of an OpenAI-shaped body (the
    implicit caching of OpenAI and Gemini, whose shared prefix in a judge run is the system
    prompt; Anthropic's top-level ``system`` is cached only when marked)."""
    blocks: list[Any] = []
    for content in [body.get("system"), *(m.get("content") for m in body.get("messages") or [])]:
        blocks.extend(content if isinstance(content, list) else [content])
    marked: list[str] = []
    text = ""
    for b in blocks:
        text += block_text([b]) if isinstance(b, dict) else str(b or "")
        if isinstance(b, dict) and b.get("cache_control"):
            marked.append(text)
    if marked:
        return marked
    first = (body.get("messages") or [{}])[0]
    if first.get("role") == "system" and isinstance(first.get("content"), str):
        return [first["content"]]
    return []


def tokens(text: str) -> int:
    """The fake token count: 1 token per 4 bytes of UTF-8."""
    return len(text.encode("utf-8")) // 4


def usage(prompt: str, completion: str) -> dict[str, int]:
    """Token counts in OpenAI's shape: a cheap, deterministic stand-in (1 token per 4 bytes)."""
    p = max(1, len(prompt.encode("utf-8")) // 4)
    c = max(1, len(completion.encode("utf-8")) // 4)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


@dataclass
class Reply:
    """What the fake model answers to one request, before a route puts it in its API's shape."""

    status: int = 200
    content: str = ""
    reasoning: str = ""
    reasoning_field: bool = False
    retry_after: float | None = None
    fault: str | None = None
    cache_read: int = 0
    cache_written: int = 0


class FakeState:
    """Counters shared by all connections; read by tests through ``GET /stats``."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.total = 0
        self.by_prompt: Counter[str] = Counter()
        self.by_model: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.cached_prefixes: set[str] = set()
        self.batches_created = 0

    def stats(self) -> dict[str, Any]:
        """The counters, as ``GET /stats`` returns them."""
        return {
            "total": self.total,
            "by_prompt": dict(self.by_prompt),
            "by_model": dict(self.by_model),
            "faults": dict(self.faults),
            "max_in_flight": dict(self.max_in_flight),
            "batches_created": self.batches_created,
        }

    def prompt_cache(self, prefixes: list[str]) -> tuple[int, int]:
        """A provider's prompt cache: ``(read, written)`` tokens for a prompt whose cacheable
        prefixes (each extending the one before) are ``prefixes``. The longest prefix seen
        before is read from the cache; the rest, up to the longest one, is written."""
        read = next((tokens(p) for p in reversed(prefixes) if p in self.cached_prefixes), 0)
        written = tokens(prefixes[-1]) - read if prefixes else 0
        self.cached_prefixes.update(prefixes)
        return read, written

    def reply(self, body: dict[str, Any], auth: str) -> Reply:
        """The reply to a chat body; ``auth`` is the ``Authorization`` value (``Bearer <key>``)."""
        model = str(body.get("model", ""))
        messages = [{"role": m.get("role"), "content": block_text(m.get("content"))}
                    for m in body.get("messages") or []]
        if body.get("system"):
            messages = [{"role": "system", "content": block_text(body["system"])}, *messages]
        user_texts = [str(m.get("content", "")) for m in messages if m.get("role") == "user"]
        last_user = user_texts[-1] if user_texts else ""
        convo = "\x01".join(str(m.get("content", "")) for m in messages)
        prompt_key = hashlib.sha1(convo.encode("utf-8")).hexdigest()[:16]
        self.total += 1
        self.by_prompt[prompt_key] += 1
        self.by_model[model] += 1
        if self.config.request_log is not None:
            with open(self.config.request_log, "ab") as fh:
                fh.write(orjson.dumps({"model": model, "prompt": prompt_key,
                                       "last_user": last_user[:200]}) + b"\n")
        if self.config.require_key is not None and auth != f"Bearer {self.config.require_key}":
            # Echo the key back, as some providers do (partly masked): the client must scrub it.
            given = auth.removeprefix("Bearer ")
            return Reply(status=401, content=f"Incorrect API key provided: {given}")
        for rule in self.config.faults:
            if rule.take(model, last_user):
                self.faults[rule.kind] += 1
                if rule.kind in TRANSLATION_FAULTS:
                    return Reply(content=faulty_translation(
                        rule.kind, last_user,
                        answer_for(model, convo, self.config.answer_tokens)))
                return self._fault(rule, model, convo)
        if is_translation(messages):
            return Reply(content=fake_translation(last_user))
        is_judge = any(JUDGE_MARKER in t for t in user_texts)
        if is_judge:
            label = verdict_for(model, convo)
            content = f"두 답변을 비교했습니다.\n\nMy final verdict is: [[{label}]]"
        else:
            content = answer_for(model, convo, self.config.answer_tokens)
        reply = Reply(content=content)
        reply.cache_read, reply.cache_written = self.prompt_cache(cache_prefixes(body))
        if model.endswith("-think"):
            reply.content = f"<think>\n{model} 생각 {prompt_key}\n</think>\n\n{content}"
        elif model.endswith("-reasoner"):
            reply.reasoning = f"{model} 생각 {prompt_key}"
            reply.reasoning_field = True
        return reply

    def _fault(self, rule: FaultRule, model: str, convo: str) -> Reply:
        kind = rule.kind
        if kind in STATUS_FAULTS:
            return Reply(status=int(kind), content=f"injected {kind}",
                         retry_after=rule.retry_after, fault=kind)
        if kind == "no_verdict":
            return Reply(content="두 답변 모두 장단점이 있습니다. 결론을 내리기 어렵습니다.")
        if kind == "truncated":
            text = answer_for(model, convo, self.config.answer_tokens)
            return Reply(content=text[: len(text) // 2], fault=kind)
        if kind in FILTER_FAULTS:
            return Reply(content="", fault=kind)
        return Reply(content=answer_for(model, convo, self.config.answer_tokens), fault=kind)
