"""Why a model stopped: the providers' finish reasons, read as one vocabulary, and the policy
for answers and judge replies that did not end on their own.

OpenAI-compatible servers say ``finish_reason: length`` or ``content_filter``, Anthropic
``stop_reason: max_tokens`` or ``refusal``, Gemini ``finishReason: MAX_TOKENS`` or ``SAFETY``.
Such a reply can still carry text, and used to be saved as if complete. The raw reason is stored
with each turn and judge reply; `finish_problem` says whether it is a truncation or a filter, so
that ``data check`` and the leaderboard count them.
"""

from __future__ import annotations

from enum import Enum

from koarena.errors import ConfigError

TRUNCATED = "truncated"
FILTERED = "filtered"

_TRUNCATED = frozenset({"length", "max_tokens", "max_output_tokens",
                        "model_context_window_exceeded"})
# Gemini's filter reasons (SAFETY and its kin), OpenAI's content_filter, Anthropic's refusal.
_FILTERED = frozenset({"content_filter", "refusal", "safety", "recitation", "blocklist",
                       "prohibited_content", "spii", "image_safety", "language"})


def finish_problem(reason: str | None) -> str | None:
    """``truncated``, ``filtered`` or None (ended normally, or no reason given).

    >>> finish_problem("length"), finish_problem("MAX_TOKENS"), finish_problem("max_tokens")
    ('truncated', 'truncated', 'truncated')
    >>> finish_problem("content_filter"), finish_problem("SAFETY"), finish_problem("refusal")
    ('filtered', 'filtered', 'filtered')
    >>> [finish_problem(r) for r in ("stop", "end_turn", "STOP", None)]
    [None, None, None, None]
    """
    if not reason:
        return None
    r = reason.lower()
    if r in _TRUNCATED:
        return TRUNCATED
    if r in _FILTERED:
        return FILTERED
    return None


class FinishPolicy(Enum):
    """What to do with a reply that was cut off or filtered.

    ``flag`` (default) saves it with its finish reason and counts it as a data problem;
    ``keep`` saves it marked as accepted (listed by ``data check``, not counted as a problem);
    ``retry`` asks once more with twice the token limit when the reply was cut off, then flags
    what is still cut off (a filter is flagged at once: more tokens do not lift it).
    """

    KEEP = "keep"
    FLAG = "flag"
    RETRY = "retry"

    @classmethod
    def parse(cls, raw: object, where: str) -> FinishPolicy:
        """The policy named by a setting file's ``finish_policy`` (default ``flag``)."""
        if raw is None:
            return cls.FLAG
        try:
            return cls(str(raw))
        except ValueError as exc:
            raise ConfigError(f"{where}: finish_policy must be keep, flag or retry, "
                              f"got {raw!r}") from exc
