"""The API families an endpoint entry can name with ``api_type``, and what each adds to it.

A family has its default ``api_base``, the environment variable that holds its key when an
entry's ``endpoints`` is null, and the rules it puts on the entry's ``reasoning`` and ``stream``
(checked by `koarena.config` when the endpoint file is read, so a bad entry fails before
anything is sent). This module is light on purpose (no HTTP client): the settings reader
imports it; `koarena.providers.registry` maps a family to the provider that speaks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from koarena.errors import ConfigError

EntryCheck = Callable[[Mapping[str, Any], Mapping[str, Any], str], None]
"""``check(entry, reasoning, where)``: raise `ConfigError` for what the family cannot take."""

# Claude's extended thinking: the budget, under Anthropic's name or OpenRouter's.
_ANTHROPIC_REASONING_KEYS = frozenset({"budget_tokens", "max_tokens"})
# Gemini's thinkingConfig: a budget (Google's name, Anthropic's or OpenRouter's), a level
# (Gemini 3; ``reasoning_effort`` arrives as ``effort``) and whether thought summaries return.
GEMINI_BUDGET_KEYS = ("thinking_budget", "budget_tokens", "max_tokens")
_GEMINI_LEVEL_KEYS = ("thinking_level", "effort")
_GEMINI_REASONING_KEYS = frozenset(
    {*GEMINI_BUDGET_KEYS, *_GEMINI_LEVEL_KEYS, "include_thoughts"})


def positive(raw: Any, where: str, key: str, *, integer: bool = False) -> Any:
    """``raw`` as a positive number (None stays None); anything else is a `ConfigError`."""
    if raw is None:
        return None
    try:
        value = int(raw) if integer else float(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {key} must be a number, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{where}: {key} must be positive, got {raw!r}")
    return value


def _no_rules(entry: Mapping[str, Any], reasoning: Mapping[str, Any], where: str) -> None:
    """OpenAI-compatible servers take any reasoning settings and streaming."""


def _check_anthropic(entry: Mapping[str, Any], reasoning: Mapping[str, Any], where: str) -> None:
    unknown = set(reasoning) - _ANTHROPIC_REASONING_KEYS
    if unknown:
        raise ConfigError(f"{where}: api_type anthropic takes a thinking budget as reasoning: "
                          f"{{budget_tokens: N}}; unknown keys {sorted(unknown)}")
    for k, v in reasoning.items():
        positive(v, where, f"reasoning.{k}", integer=True)


def _check_gemini(entry: Mapping[str, Any], reasoning: Mapping[str, Any], where: str) -> None:
    unknown = set(reasoning) - _GEMINI_REASONING_KEYS
    if unknown:
        raise ConfigError(f"{where}: api_type gemini takes reasoning: {{thinking_budget: N, "
                          f"thinking_level: low|high, include_thoughts: true|false}}; "
                          f"unknown keys {sorted(unknown)}")
    budgets = [k for k in GEMINI_BUDGET_KEYS if k in reasoning]
    levels = [k for k in _GEMINI_LEVEL_KEYS if k in reasoning]
    if len(budgets) + len(levels) > 1:
        raise ConfigError(f"{where}: give one of thinking_budget or thinking_level for api_type "
                          f"gemini, got {sorted(budgets + levels)}")
    for k in budgets:
        v = reasoning[k]
        # -1 asks for a dynamic budget, 0 turns thinking off.
        if isinstance(v, bool) or not isinstance(v, int) or v < -1:
            raise ConfigError(f"{where}: reasoning.{k} must be an integer >= -1, got {v!r}")
    for k in levels:
        if not isinstance(reasoning[k], str) or not reasoning[k]:
            raise ConfigError(f"{where}: reasoning.{k} must be a level name such as low or high")
    if not isinstance(reasoning.get("include_thoughts", False), bool):
        raise ConfigError(f"{where}: reasoning.include_thoughts must be true or false")


@dataclass(frozen=True)
class ApiFamily:
    """One API family: the ``api_type`` values that name it and its defaults and rules."""

    name: str
    types: frozenset[str]
    api_base: str
    key_env: str
    check: EntryCheck = _no_rules


OPENAI = ApiFamily(
    "openai",
    frozenset({"openai", "openai_compatible", "openai-compatible", "vllm", "sglang", "llamacpp",
               "llama.cpp", "ollama", "openrouter", "deepseek", "gemini_openai",
               "openai_thinking"}),
    "https://api.openai.com/v1", "OPENAI_API_KEY")
ANTHROPIC = ApiFamily("anthropic", frozenset({"anthropic"}), "https://api.anthropic.com/v1",
                      "ANTHROPIC_API_KEY", _check_anthropic)
GEMINI = ApiFamily("gemini", frozenset({"gemini", "google"}),
                   "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY",
                   _check_gemini)
FAMILIES = (OPENAI, ANTHROPIC, GEMINI)
SUPPORTED_TYPES = frozenset().union(*(f.types for f in FAMILIES))


def api_family(api_type: str, where: str) -> ApiFamily:
    """The family ``api_type`` names; an unknown type is a `ConfigError`."""
    for family in FAMILIES:
        if api_type in family.types:
            return family
    raise ConfigError(f"{where}: api_type {api_type!r} is not supported "
                      f"(supported: {', '.join(sorted(SUPPORTED_TYPES))})")
