"""Fault rules of the fake server: which requests get which injected failure.

A rule gives its fault to the first ``times`` requests whose last user message contains
``match`` (and whose model equals ``model``, if given); the others are answered normally.
"""

from __future__ import annotations

from dataclasses import dataclass

from koarena.errors import ConfigError

# Kind -> what the client sees; ``koarena fake-server --help`` prints this table.
FAULTS: dict[str, str] = {
    "429": "rate limited (Retry-After, or Gemini's RetryInfo, when retry_after is set)",
    "500": "internal server error",
    "503": "service unavailable",
    "529": "overloaded (Anthropic's status)",
    "400": "bad request (a fatal client error)",
    "401": "unauthorized (a fatal client error)",
    "hang": "never answer: the client's timeout must fire",
    "reset": "drop the connection with a TCP reset before answering",
    "cut": "send part of a streamed answer, then drop the connection (unstreamed: reset)",
    "no_verdict": "a judge text without a verdict label",
    "blocked": "the prompt is refused by a content filter, no answer text",
    "filtered": "the answer is withheld by a content filter, no answer text",
    "truncated": "half the answer, stopped at the token limit (finish_reason length, "
                 "stop_reason max_tokens, finishReason MAX_TOKENS)",
    "drop_mask": "a translation that leaves out its first mask token",
    "answer": "an answer to the prompt instead of its translation",
    "english": "the prompt returned untranslated",
    "refuse": "a refusal to translate",
}
FAULT_KINDS = frozenset(FAULTS)
STATUS_FAULTS = frozenset({"429", "500", "503", "529", "400", "401"})
# Both filter faults come without any answer text: OpenAI's shape gives ``finish_reason:
# content_filter``, Anthropic's ``stop_reason: refusal``, Gemini's ``promptFeedback.blockReason``
# (blocked) or ``finishReason: SAFETY`` (filtered).
FILTER_FAULTS = frozenset({"blocked", "filtered"})
# A translator's failures (koarena.testing.translator): well-formed replies with the wrong text.
TRANSLATION_FAULTS = frozenset({"drop_mask", "answer", "english", "refuse"})


@dataclass
class FaultRule:
    """Inject ``kind`` into the first ``times`` matching requests."""

    kind: str
    match: str = ""
    model: str | None = None
    times: int = 1
    retry_after: float | None = None
    used: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(f"unknown fault kind {self.kind!r}; known: {sorted(FAULT_KINDS)}")

    def take(self, model: str, text: str) -> bool:
        """Whether this request gets the fault (and count it if so)."""
        if self.used >= self.times:
            return False
        if self.model is not None and self.model != model:
            return False
        if self.match not in text:
            return False
        self.used += 1
        return True
