"""The three arena-hard YAML files, read as users already have them, into typed settings.

- Endpoint file (``api_config.yaml``): ``<name>: {model_name, endpoints: [{api_base, api_key}],
  api_type, parallel}`` (``api_type: anthropic`` for Anthropic's native API, ``gemini`` or
  ``google`` for Google's Gemini API, else any OpenAI-compatible type; each family's defaults
  and rules are in `koarena.providers.apis`) plus optional keys:
  ``reasoning_effort``, ``reasoning`` (a mapping sent as provider reasoning settings),
  ``extra_body``, ``rpm``/``tpm`` (requests/tokens per minute), ``price: {input, output}``
  (dollars per million tokens), ``timeout`` (seconds), ``stream``, ``split_think``
  (split a leading ``<think>`` block off the content; default true).
- Answer settings (``gen_answer_config.yaml``): ``bench_name``, ``temperature``, ``max_tokens``,
  ``num_choices``, ``model_list``.
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
from koarena.errors import ConfigError, UnsafeNameError
from koarena.providers.apis import api_family, positive
from koarena.yamlfile import load_mapping

log = logging.getLogger(__name__)

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# o1, o3, o4-mini, … take max_completion_tokens and reasoning_effort and reject temperature.
_O_SERIES = re.compile(r"(^|/)o\d")
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


@dataclass(frozen=True)
class Price:
    """Dollars per million input and output tokens."""

    input: float = 0.0
    output: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


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
    stream: bool = False
    split_think: bool = True

    @property
    def o_series(self) -> bool:
        """o-series shape: ``max_completion_tokens``, ``reasoning_effort``, no temperature."""
        return bool(_O_SERIES.search(self.model_name)) or self.api_type == "openai_thinking"


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
    price = None
    if d.get("price") is not None:
        p = _mapping(d["price"], f"{here} price")
        unknown = set(p) - {"input", "output"}
        if unknown:
            raise ConfigError(f"{here}: price has unknown keys {sorted(unknown)} "
                              "(use input and output, dollars per million tokens)")
        try:
            price = Price(float(p.get("input", 0.0)), float(p.get("output", 0.0)))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{here}: price values must be numbers") from exc
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
        stream=bool(d.get("stream", False)),
        split_think=bool(d.get("split_think", True)),
    )


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
    )


@dataclass(frozen=True)
class JudgeSettings:
    """The judging protocol: the keys of the bench's ``judge_config.yaml``.

    ``judge_models`` holds ``judge_model`` (a name or a list of names, one per judge).
    """

    bench_name: str
    judge_models: list[str]
    baseline_model: str
    system_prompt: str
    prompt_template: list[str]
    regex_patterns: list[str] = field(default_factory=lambda: [DEFAULT_VERDICT_REGEX])
    number_of_judgment_attempts: int = 2
    temperature: float = 0.0
    max_tokens: int = 16384
    model_list: list[str] = field(default_factory=list)
    baseline: bool = True
    pairwise: bool = True
    reference: bool = False


def load_judge_settings(path: Path | None, default_protocol: Path | None = None) -> JudgeSettings:
    """Merge ``default_protocol`` (the bench's judge_config.yaml) with the setting file."""
    merged: dict[str, Any] = {}
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
    for key in ("bench_name", "baseline_model", "system_prompt"):
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
        baseline_model=merged["baseline_model"],
        system_prompt=merged["system_prompt"],
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
