"""The three arena-hard YAML files, read as users already have them, into typed settings.

- Endpoint file (``api_config.yaml``): ``<name>: {model_name, endpoints: [{api_base, api_key}],
  api_type, parallel}`` (``api_type: anthropic`` for Anthropic's native API, ``gemini`` or
  ``google`` for Google's Gemini API, else any OpenAI-compatible type; each family's defaults
  and rules are in `koarena.providers.apis`) plus optional keys:
  ``reasoning_effort``, ``reasoning`` (a mapping sent as provider reasoning settings),
  ``extra_body``, ``rpm``/``tpm`` (requests/tokens per minute), ``price: {input, output,
  cached_input, cache_write, batch_input, batch_output, date}`` (dollars per million tokens),
  ``timeout`` (seconds), ``stream`` (Anthropic: default streams long requests only),
  ``split_think`` (split a leading ``<think>`` block off the content; default true),
  ``reasoning_model`` (force OpenAI's reasoning-model request shape on or off),
  ``anthropic_version``, ``prompt_cache`` (mark cacheable prefixes; default true), ``batch``
  (use the provider's batch API; default false).
- Answer settings (``gen_answer_config.yaml``): ``bench_name``, ``temperature``, ``max_tokens``,
  ``num_choices``, ``model_list``, and ``finish_policy`` (``keep``, ``flag`` or ``retry``: what
  to do with an answer cut off by ``max_tokens`` or a filter; `koarena.finish`). Judge settings
  take ``finish_policy`` too.
- Judge settings (``judge_config.yaml``): the keys of the bench's own ``judge_config.yaml``,
  which is also the default protocol; a setting file overrides it key by key. The verdict regex
  is ``regex_pattern`` (arena-hard v0.1) or a list ``regex_patterns`` (arena-hard 2.0), tried in
  order.

API keys are ``${ENV_VAR}`` references (or literals, as arena-hard files have them, or
``$OPENAI_API_KEY`` when absent) and are held in `Secret`, whose ``repr``/``str`` never show them.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koarena.bench import check_name
from koarena.categories import Categories, parse_categories
from koarena.errors import ConfigError, UnsafeNameError
from koarena.finish import FinishPolicy
from koarena.providers.apis import OPENAI, api_family, positive
from koarena.yamlfile import load_mapping

log = logging.getLogger(__name__)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# OpenAI's reasoning models take max_completion_tokens and reasoning_effort on Chat Completions
# and reject temperature and max_tokens: the o-series (o1, o3-mini, o4-mini…), GPT-5 and its
# minor versions except the non-reasoning chat snapshots (gpt-5-chat-latest), also behind a
# provider prefix (openai/gpt-5) or as fine-tunes (ft:o4-mini-2025-04-16:org::id). Keep in step
# with https://platform.openai.com/docs/models; ``reasoning_model: true|false`` overrides it.
REASONING_MODEL_NAME = re.compile(r"(^|[/:])(o\d|gpt-5(?!(\.\d+)?-chat))")
DEFAULT_VERDICT_REGEX = r"\[\[([AB<>=]+)\]\]"
_REGEX_KEYS = ("regex_pattern", "regex_patterns")


def compile_regex(pattern: str, where: str) -> re.Pattern[str]:
    """Compile a configured regex; a syntax error becomes a `ConfigError`.

    Python's warnings about a pattern whose meaning will change (``[[`` read as a nested set)
    are logged with the pattern and where it came from, instead of surfacing as a bare
    ``FutureWarning`` from this module.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{where}: regex {pattern!r} does not compile ({exc})") from exc
    for w in caught:
        log.warning("%s: regex %r: %s", where, pattern, w.message)
    return compiled


class Secret:
    """A credential. Its text is only available through `reveal`; repr and str are redacted."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def resolve_secret(raw: Any, where: str, env: dict[str, str] | None = None) -> Secret | None:
    """Expand ``${VAR}`` references; a missing variable is an error naming only the variable."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise ConfigError(f"{where}: api_key must be a string")
    environ = os.environ if env is None else env

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in environ:
            raise ConfigError(f"{where}: environment variable {name} is not set")
        return environ[name]

    return Secret(_ENV_REF.sub(sub, raw))


@dataclass(frozen=True)
class Endpoint:
    api_base: str
    api_key: Secret | None = None


_PRICE_KEYS = ("input", "output", "cached_input", "cache_write", "batch_input", "batch_output")


@dataclass(frozen=True)
class Price:
    """Dollars per million tokens: uncached input, output, input read from the prompt cache
    (default: the input rate), input written to it (Anthropic charges 1.25x; default: the input
    rate), and the batch API's input and output rates (default: half, as OpenAI, Anthropic and
    Google charge). ``date`` says when the rates were read off the provider's price page."""

    input: float = 0.0
    output: float = 0.0
    cached_input: float | None = None
    cache_write: float | None = None
    batch_input: float | None = None
    batch_output: float | None = None
    date: str | None = None

    def cost(self, input_tokens: int, output_tokens: int, *, cached: int = 0,
             cache_write: int = 0, batch: bool = False) -> float:
        """Dollars for one request's usage. ``input_tokens`` includes the ``cached`` and
        ``cache_write`` tokens. In a batch, cache rates get the batch discount of the input
        rate (the providers' discounts stack).

        >>> p = Price(input=3.0, output=15.0, cached_input=0.3, cache_write=3.75)
        >>> round(p.cost(1_000_000, 100_000), 6), round(p.cost(1_000_000, 100_000, batch=True), 6)
        (4.5, 2.25)
        >>> round(p.cost(1_000_000, 0, cached=800_000, cache_write=100_000), 6)
        0.915
        """
        in_rate, out_rate = self.input, self.output
        scale = 1.0
        if batch:
            in_rate = self.batch_input if self.batch_input is not None else self.input / 2
            out_rate = self.batch_output if self.batch_output is not None else self.output / 2
            scale = in_rate / self.input if self.input else 0.5
        cached_rate = (self.cached_input if self.cached_input is not None else self.input) * scale
        write_rate = (self.cache_write if self.cache_write is not None else self.input) * scale
        plain = max(0, input_tokens - cached - cache_write)
        return (plain * in_rate + cached * cached_rate + cache_write * write_rate
                + output_tokens * out_rate) / 1_000_000


@dataclass(frozen=True)
class ModelEndpoint:
    """One entry of the endpoint file: how to reach a model and how hard to push it."""

    name: str
    model_name: str
    endpoints: tuple[Endpoint, ...]
    api_type: str = "openai"
    parallel: int = 8
    rpm: float | None = None
    tpm: float | None = None
    price: Price | None = None
    reasoning: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    timeout: float = 600.0
    stream: bool | None = None
    """Stream the reply; None lets the provider decide (Anthropic streams long requests)."""
    split_think: bool = True
    reasoning_model: bool | None = None
    """OpenAI reasoning-model request shape; None decides from the name and settings."""
    anthropic_version: str | None = None
    prompt_cache: bool = True
    """Mark the shared prompt prefix for providers whose cache needs explicit breakpoints."""
    batch: bool = False
    """Send this model's requests through its provider's batch API (also ``--batch``)."""

    @property
    def o_series(self) -> bool:
        """OpenAI reasoning shape (o-series, GPT-5): ``max_completion_tokens``,
        ``reasoning_effort``, no temperature. From ``reasoning_model`` when set, else from the
        model name, ``api_type: openai_thinking``, or a reasoning effort sent to OpenAI's own
        API (where ``reasoning: {effort}`` is a Responses-API key that Chat Completions
        rejects)."""
        if self.reasoning_model is not None:
            return self.reasoning_model
        if self.api_type == "openai_thinking" or REASONING_MODEL_NAME.search(self.model_name):
            return True
        return "effort" in self.reasoning and any(
            ep.api_base == OPENAI.api_base for ep in self.endpoints)


def _mapping(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(raw).__name__}")
    return raw


def _load_yaml(path: Path) -> dict[str, Any]:
    return load_mapping(path, ConfigError)


def parse_model_endpoint(
    name: str, raw: Any, where: str, env: dict[str, str] | None = None
) -> ModelEndpoint:
    """One endpoint-file entry; ``where`` names the file for error messages."""
    here = f"{where}: model {name!r}"
    try:
        check_name(name)
    except UnsafeNameError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    d = _mapping(raw, here)
    api_type = str(d.get("api_type", "openai"))
    family = api_family(api_type, here)
    raw_eps = d.get("endpoints")
    endpoints: list[Endpoint] = []
    default_base, key_var = family.api_base, family.key_env
    if raw_eps is None:
        key = resolve_secret(os.environ.get(key_var) if env is None else env.get(key_var),
                             here, env)
        endpoints.append(Endpoint(default_base, key))
    else:
        if not isinstance(raw_eps, list) or not raw_eps:
            raise ConfigError(f"{here}: endpoints must be a non-empty list or null")
        for i, ep in enumerate(raw_eps):
            e = _mapping(ep, f"{here} endpoint {i}")
            base = e.get("api_base") or default_base
            if not isinstance(base, str) or not base.startswith(("http://", "https://")):
                raise ConfigError(f"{here} endpoint {i}: api_base must be an http(s) URL")
            endpoints.append(Endpoint(base.rstrip("/"), resolve_secret(e.get("api_key"),
                                                                       f"{here} endpoint {i}",
                                                                       env)))
    reasoning = dict(_mapping(d.get("reasoning") or {}, f"{here} reasoning"))
    if d.get("reasoning_effort") is not None:
        reasoning["effort"] = str(d["reasoning_effort"])
    family.check(d, reasoning, here)
    price = None if d.get("price") is None else _price(d["price"], here)
    parallel = positive(d.get("parallel", 8), here, "parallel", integer=True)
    return ModelEndpoint(
        name=name,
        model_name=str(d.get("model_name") or name),
        endpoints=tuple(endpoints),
        api_type=api_type,
        parallel=parallel,
        rpm=positive(d.get("rpm", d.get("requests_per_minute")), here, "rpm"),
        tpm=positive(d.get("tpm", d.get("tokens_per_minute")), here, "tpm"),
        price=price,
        reasoning=reasoning,
        extra_body=dict(_mapping(d.get("extra_body") or {}, f"{here} extra_body")),
        timeout=positive(d.get("timeout", 600.0), here, "timeout"),
        stream=None if d.get("stream") is None else bool(d["stream"]),
        split_think=bool(d.get("split_think", True)),
        reasoning_model=(None if d.get("reasoning_model") is None
                         else bool(d["reasoning_model"])),
        anthropic_version=(None if d.get("anthropic_version") is None
                           else str(d["anthropic_version"])),
        prompt_cache=bool(d.get("prompt_cache", True)),
        batch=bool(d.get("batch", False)),
    )


def _price(raw: Any, here: str) -> Price:
    p = _mapping(raw, f"{here} price")
    unknown = set(p) - {*_PRICE_KEYS, "date"}
    if unknown:
        raise ConfigError(f"{here}: price has unknown keys {sorted(unknown)} (use "
                          f"{', '.join(_PRICE_KEYS)}: dollars per million tokens; and date)")
    rates: dict[str, float | None] = {}
    for k in _PRICE_KEYS:
        v = p.get(k)
        try:
            rates[k] = None if v is None else float(v)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{here}: price values must be numbers") from exc
    return Price(input=rates["input"] or 0.0, output=rates["output"] or 0.0,
                 cached_input=rates["cached_input"], cache_write=rates["cache_write"],
                 batch_input=rates["batch_input"], batch_output=rates["batch_output"],
                 date=None if p.get("date") is None else str(p["date"]))


def load_endpoints(path: Path, env: dict[str, str] | None = None) -> dict[str, ModelEndpoint]:
    """Read an endpoint file (``api_config.yaml``)."""
    raw = _load_yaml(path)
    return {str(name): parse_model_endpoint(str(name), entry, str(path), env)
            for name, entry in raw.items()}


@dataclass(frozen=True)
class AnswerSettings:
    """``gen_answer_config.yaml``."""

    bench_name: str
    model_list: list[str]
    temperature: float = 0.0
    max_tokens: int = 4096
    num_choices: int = 1
    finish_policy: FinishPolicy = FinishPolicy.FLAG


def load_answer_settings(path: Path) -> AnswerSettings:
    raw = _load_yaml(path)
    where = str(path)
    bench = raw.get("bench_name")
    if not isinstance(bench, str) or not bench:
        raise ConfigError(f"{where}: bench_name is required")
    models = raw.get("model_list") or []
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        raise ConfigError(f"{where}: model_list must be a list of model names")
    num_choices = positive(raw.get("num_choices", 1), where, "num_choices", integer=True)
    if num_choices != 1:
        raise ConfigError(f"{where}: num_choices {num_choices} is not supported (only 1 is "
                          "judged; the published answers have one choice)")
    try:
        temperature = float(raw.get("temperature", 0.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: temperature must be a number") from exc
    return AnswerSettings(
        bench_name=bench,
        model_list=list(models),
        temperature=temperature,
        max_tokens=positive(raw.get("max_tokens", 4096), where, "max_tokens", integer=True),
        num_choices=num_choices,
        finish_policy=FinishPolicy.parse(raw.get("finish_policy"), where),
    )


@dataclass(frozen=True)
class JudgeSettings:
    """The judging protocol: the keys of the bench's ``judge_config.yaml``.

    ``judge_models`` holds ``judge_model`` (a name or a list of names, one per judge).
    ``categories`` (Arena-Hard v2.0) gives each question category its own baseline and system
    prompt; then ``baseline_model`` and ``system_prompt`` are empty and unused.
    """

    bench_name: str
    judge_models: list[str]
    baseline_model: str
    system_prompt: str
    prompt_template: list[str]
    categories: Categories = field(default_factory=dict)
    regex_patterns: list[str] = field(default_factory=lambda: [DEFAULT_VERDICT_REGEX])
    number_of_judgment_attempts: int = 2
    temperature: float = 0.0
    max_tokens: int = 16384
    model_list: list[str] = field(default_factory=list)
    baseline: bool = True
    pairwise: bool = True
    reference: bool = False
    finish_policy: FinishPolicy = FinishPolicy.FLAG


def load_judge_settings(
    path: Path | None,
    default_protocol: Path | None = None,
    bench_categories: Categories | None = None,
) -> JudgeSettings:
    """Merge ``default_protocol`` (the bench's judge_config.yaml) with the setting file.

    Per-category baselines and prompts come from the setting file's ``categories`` key, else
    from ``bench_categories`` (the bench's judge_settings.yaml) unless the setting file names
    its own ``baseline_model``; a single ``baseline_model`` and ``system_prompt`` otherwise.
    """
    merged: dict[str, Any] = {}
    own: dict[str, Any] = {}
    if default_protocol is not None and default_protocol.is_file():
        merged.update(_load_yaml(default_protocol))
    if path is not None:
        own = _load_yaml(path)
        if any(k in own for k in _REGEX_KEYS):
            # Either spelling in the setting file replaces the default's verdict regex.
            for k in _REGEX_KEYS:
                merged.pop(k, None)
        merged.update(own)
    where = str(path or default_protocol or "judge settings")
    judge = merged.get("judge_model")
    judges = [judge] if isinstance(judge, str) else judge
    if not judges or not isinstance(judges, list) or not all(isinstance(j, str) for j in judges):
        raise ConfigError(f"{where}: judge_model must be a model name or a list of names")
    if not isinstance(merged.get("bench_name"), str) or not merged["bench_name"]:
        raise ConfigError(f"{where}: bench_name is required")
    categories: Categories = {}
    if "categories" in merged:
        categories = parse_categories(merged["categories"], where)
    elif bench_categories and "baseline_model" not in own:
        categories = dict(bench_categories)
    elif not merged.get("baseline_model"):
        raise ConfigError(f"{where}: neither a baseline_model nor categories "
                          "(per-category baselines, as in a judge_settings.yaml)")
    if not categories:
        for key in ("baseline_model", "system_prompt"):
            if not isinstance(merged.get(key), str) or not merged[key]:
                raise ConfigError(f"{where}: {key} is required")
    template = merged.get("prompt_template")
    if isinstance(template, str):
        template = [template]
    if not template or not all(isinstance(t, str) for t in template):
        raise ConfigError(f"{where}: prompt_template must be a string or a list of strings")
    patterns = _regex_patterns(merged, where)
    models = merged.get("model_list") or []
    if not isinstance(models, list):
        raise ConfigError(f"{where}: model_list must be a list")
    try:
        temperature = float(merged.get("temperature", 0.0))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: temperature must be a number") from exc
    return JudgeSettings(
        bench_name=merged["bench_name"],
        judge_models=list(judges),
        baseline_model="" if categories else merged["baseline_model"],
        system_prompt="" if categories else merged["system_prompt"],
        categories=categories,
        prompt_template=list(template),
        regex_patterns=patterns,
        number_of_judgment_attempts=positive(
            merged.get("number_of_judgment_attempts", 2), where,
            "number_of_judgment_attempts", integer=True),
        temperature=temperature,
        max_tokens=positive(merged.get("max_tokens", 16384), where, "max_tokens", integer=True),
        model_list=[str(m) for m in models],
        baseline=bool(merged.get("baseline", True)),
        pairwise=bool(merged.get("pairwise", True)),
        reference=bool(merged.get("reference", False)),
        finish_policy=FinishPolicy.parse(merged.get("finish_policy"), where),
    )


def _regex_patterns(merged: dict[str, Any], where: str) -> list[str]:
    """``regex_patterns`` (a list) or ``regex_pattern`` (one), each compiled once to check it."""
    if all(k in merged for k in _REGEX_KEYS):
        raise ConfigError(f"{where}: give regex_pattern or regex_patterns, not both")
    raw = merged.get("regex_patterns", merged.get("regex_pattern", DEFAULT_VERDICT_REGEX))
    patterns = [raw] if isinstance(raw, str) else raw
    if not patterns or not isinstance(patterns, list) or not all(
            isinstance(p, str) and p for p in patterns):
        raise ConfigError(f"{where}: regex_patterns must be a non-empty list of regexes")
    for p in patterns:
        compile_regex(p, where)
    return list(patterns)
