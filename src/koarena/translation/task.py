"""One question → its Korean record: a task of the shared runner (`koarena.runner`).

Each turn is masked, sent on its own (turn by turn, so a long conversation never has to fit
one reply), and restored. A reply that lost or altered a mask token is asked again, up to
``mask_attempts`` times in all, the later tries with some temperature so that the model does
not repeat itself; after that the task fails with reason ``mask_lost`` and nothing is written.
A reply cut at ``max_tokens`` fails at once (reason ``truncated``).
Transport failures (429, 5xx, timeouts) are the runner's: it retries them with backoff.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koarena.providers.base import ChatRequest
from koarena.runner.tasks import Chat, TaskError
from koarena.translation import prompt
from koarena.translation.checks import check_turn
from koarena.translation.items import SourceItem, TranslationInfo
from koarena.translation.masking import Masked, MaskError, mask

DEFAULT_MASK_ATTEMPTS = 3
RETRY_TEMPERATURE = 0.3
# How OpenAI-compatible servers, Anthropic and Gemini say a reply hit its max_tokens.
TRUNCATED = frozenset({"length", "max_tokens", "MAX_TOKENS"})


def needs_translation(masked: Masked) -> bool:
    """False for a turn with no letters outside its tokens (a bare code block, a number):
    tokens are brackets and digits, never letters."""
    return any(c.isalpha() for c in masked.text)


@dataclass(frozen=True)
class Translator:
    """Who translates and how: one for a run, shared by all its tasks. ``model`` is an
    endpoint-file name, ``api_model`` the name the API knows it by (recorded too)."""

    model: str
    api_model: str
    temperature: float
    max_tokens: int
    mask_attempts: int = DEFAULT_MASK_ATTEMPTS


@dataclass(frozen=True)
class TranslateTask:
    """Translate ``item`` of ``source_bench`` with ``translator``; the record goes to
    ``output``."""

    item: SourceItem
    translator: Translator
    output: Path
    source_bench: str

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def model(self) -> str:
        return self.translator.model

    def _request(self, masked: Masked, attempt: int) -> ChatRequest:
        tr = self.translator
        temperature = tr.temperature if attempt == 1 else max(tr.temperature, RETRY_TEMPERATURE)
        return ChatRequest(model=tr.model, messages=prompt.messages(masked),
                           temperature=temperature, max_tokens=tr.max_tokens)

    def planned_requests(self) -> list[ChatRequest]:
        masks = [mask(t) for t in self.item.turns]
        return [self._request(m, 1) for m in masks if needs_translation(m)]

    async def _translate(self, chat: Chat, masked: Masked, turn: int) -> tuple[str, int]:
        error: MaskError | None = None
        attempts = self.translator.mask_attempts
        for attempt in range(1, attempts + 1):
            resp = await chat(self._request(masked, attempt))
            if resp.finish_reason in TRUNCATED:
                # Asking again gives the same cut: a translation must not lose its end.
                raise TaskError("truncated", f"turn {turn}: the reply hit max_tokens "
                                f"({self.translator.max_tokens}); give a larger --max-tokens")
            text = resp.content.strip()
            if not text:
                raise TaskError("empty", f"turn {turn}: the translator returned nothing")
            try:
                return masked.restore(text), attempt
            except MaskError as exc:
                error = exc
        raise TaskError("mask_lost",
                        f"turn {turn}: {error} (after {attempts} tries)")

    async def run(self, chat: Chat) -> dict[str, Any]:
        texts: list[str] = []
        requests = 0
        for i, source in enumerate(self.item.turns, 1):
            masked = mask(source)
            if not needs_translation(masked):
                texts.append(source)
                continue
            text, tries = await self._translate(chat, masked, i)
            # The reply is stripped; the source's own leading and trailing blank space is kept.
            lead = source[:len(source) - len(source.lstrip())]
            trail = source[len(source.rstrip()):]
            texts.append(lead + text + trail)
            requests += tries
        info = TranslationInfo(
            source_bench=self.source_bench,
            source=list(self.item.turns),
            translator=self.translator.model,
            translator_model=self.translator.api_model,
            prompt_hash=prompt.prompt_hash(),
            temperature=self.translator.temperature,
            requests=requests,
            checks=[check_turn(s, t) for s, t in zip(self.item.turns, texts, strict=True)],
            tstamp=time.time(),
        )
        return self.item.translated(texts, info.to_dict())

