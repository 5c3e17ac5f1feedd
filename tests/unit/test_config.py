"""Config files: arena-hard YAML accepted as is, typed, clear errors, keys never shown."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from koarena.bench import Bench
from koarena.categories import bench_categories
from koarena.config import (
    Price,
    Secret,
    compile_regex,
    load_answer_settings,
    load_endpoints,
    load_judge_settings,
    parse_model_endpoint,
)
from koarena.errors import ConfigError
from koarena.judge_protocol import JudgeProtocol

KEY = "sk-planted-0123456789abcdef"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_arena_hard_endpoint_file(tmp_path: Path) -> None:
    p = write(tmp_path, "api_config.yaml", """
gpt-4o-mini:
    model_name: gpt-4o-mini-2024-07-18
    endpoints:
        - api_base: https://api.example.com/v1/
          api_key: ${KOARENA_TEST_KEY}
    api_type: openai
    parallel: 32
o3-mini-high:
    model_name: o3-mini
    endpoints: null
    api_type: openai
    parallel: 4
    reasoning_effort: high
    price: {input: 1.1, output: 4.4}
    rpm: 500
    tpm: 200000
    extra_body: {seed: 1}
""")
    eps = load_endpoints(p, env={"KOARENA_TEST_KEY": KEY, "OPENAI_API_KEY": "sk-other"})
    a, b = eps["gpt-4o-mini"], eps["o3-mini-high"]
    assert a.model_name == "gpt-4o-mini-2024-07-18"
    assert a.parallel == 32
    assert a.endpoints[0].api_base == "https://api.example.com/v1"
    assert a.endpoints[0].api_key == Secret(KEY)
    assert not a.o_series
    assert b.o_series
    assert b.endpoints[0].api_base == "https://api.openai.com/v1"
    assert b.endpoints[0].api_key == Secret("sk-other")
    assert b.reasoning == {"effort": "high"}
    assert b.price == Price(1.1, 4.4)
    assert (b.rpm, b.tpm) == (500.0, 200000.0)
    assert b.extra_body == {"seed": 1}
    assert KEY not in repr(eps)
    assert KEY not in str(a.endpoints[0].api_key)


def test_missing_env_var_names_the_variable_only(tmp_path: Path) -> None:
    p = write(tmp_path, "e.yaml", "m:\n  endpoints: [{api_base: 'http://x/v1', "
                                  "api_key: '${NOT_SET_ANYWHERE}'}]\n")
    with pytest.raises(ConfigError, match="environment variable NOT_SET_ANYWHERE is not set"):
        load_endpoints(p, env={})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"api_type": "bedrock"}, "api_type 'bedrock' is not supported"),
        ({"api_type": "anthropic", "reasoning_effort": "high"}, "unknown keys \\['effort'\\]"),
        ({"api_type": "anthropic", "reasoning": {"budget_tokens": 0}}, "must be positive"),
        ({"price": {"input": 1, "cached_input": "cheap"}}, "price values must be numbers"),
        ({"parallel": 0}, "parallel must be positive"),
        ({"parallel": "many"}, "parallel must be a number"),
        ({"endpoints": []}, "endpoints must be a non-empty list"),
        ({"endpoints": [{"api_base": "ftp://x"}]}, "api_base must be an http"),
        ({"price": {"in": 1}}, "price has unknown keys"),
        ("just a string", "expected a mapping"),
    ],
)
def test_bad_endpoint_entries(entry: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_model_endpoint("m", entry, "api.yaml", env={})


def test_anthropic_entry_defaults_to_anthropics_api_and_key() -> None:
    m = parse_model_endpoint("claude", {"api_type": "anthropic", "model_name": "claude-x",
                                        "endpoints": None, "reasoning": {"budget_tokens": 2048}},
                             "api.yaml", env={"ANTHROPIC_API_KEY": KEY, "OPENAI_API_KEY": "no"})
    assert m.endpoints[0].api_base == "https://api.anthropic.com/v1"
    assert m.endpoints[0].api_key == Secret(KEY)
    assert m.reasoning == {"budget_tokens": 2048}
    assert not m.o_series


def test_unsafe_model_name_rejected() -> None:
    with pytest.raises(ConfigError, match="unsafe model name"):
        parse_model_endpoint("../evil", {}, "api.yaml", env={})


def test_secret_never_shown() -> None:
    s = Secret(KEY)
    assert repr(s) == "Secret('***')"
    assert f"{s} {s!r}" == "Secret('***') Secret('***')"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def test_price_cost() -> None:
    assert Price(2.0, 8.0).cost(1_000_000, 500_000) == 6.0


def test_answer_settings(tmp_path: Path) -> None:
    p = write(tmp_path, "gen.yaml", "name: x\nbench_name: ko-arena-hard-v0.1\ntemperature: 0.5\n"
                                    "max_tokens: 2048\nnum_choices: 1\nmodel_list: [a, b]\n")
    s = load_answer_settings(p)
    assert (s.bench_name, s.temperature, s.max_tokens, s.model_list) == (
        "ko-arena-hard-v0.1", 0.5, 2048, ["a", "b"])
    bad = write(tmp_path, "bad.yaml", "bench_name: b\nnum_choices: 2\n")
    with pytest.raises(ConfigError, match="num_choices 2 is not supported"):
        load_answer_settings(bad)
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_answer_settings(write(tmp_path, "broken.yaml", "a: [1,\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_answer_settings(tmp_path / "absent.yaml")


def test_judge_settings_default_to_the_bench_protocol(shared_data: Path, tmp_path: Path) -> None:
    proto = shared_data / "ko-arena-hard-v0.1" / "judge_config.yaml"
    s = load_judge_settings(None, proto)
    assert s.judge_models == ["deepseek-chat-v3-0324"]
    assert s.baseline_model == "claude-3.7-sonnet"
    assert s.regex_patterns == [r"\[\[([AB<>=]+)\]\]"]
    assert s.number_of_judgment_attempts == 2
    assert s.temperature == 0.0
    assert s.max_tokens == 16384
    assert s.prompt_template[0].startswith("<|User Prompt|>\n{question_1}")
    assert "Korean" in s.system_prompt
    override = write(tmp_path, "j.yaml", "judge_model: [gpt-4o-mini, gemini-2.0-flash-001]\n"
                                         "number_of_judgment_attempts: 3\n")
    s2 = load_judge_settings(override, proto)
    assert s2.judge_models == ["gpt-4o-mini", "gemini-2.0-flash-001"]
    assert s2.number_of_judgment_attempts == 3
    assert s2.system_prompt == s.system_prompt
    with pytest.raises(ConfigError, match=r"regex '\[\[' does not compile"):
        load_judge_settings(write(tmp_path, "r.yaml", "regex_pattern: '[['\n"), proto)


def test_judge_settings_regex_patterns_list(shared_data: Path, tmp_path: Path) -> None:
    proto = shared_data / "ko-arena-hard-v0.1" / "judge_config.yaml"
    v2 = write(tmp_path, "v2.yaml", "regex_patterns:\n  - '\\[\\[([AB<>=]+)\\]\\]'\n"
                                    "  - '\\[([AB<>=]+)\\]'\n")
    s = load_judge_settings(v2, proto)
    # The list replaces the bench's regex_pattern instead of clashing with it.
    assert s.regex_patterns == [r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]"]
    assert JudgeProtocol.from_settings(s).regex_patterns == (
        r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]")
    one = write(tmp_path, "one.yaml", "regex_pattern: 'verdict: ([AB<>=]+)'\n")
    assert load_judge_settings(one, proto).regex_patterns == ["verdict: ([AB<>=]+)"]
    both = write(tmp_path, "both.yaml", "regex_pattern: x\nregex_patterns: [y]\n")
    with pytest.raises(ConfigError, match="not both"):
        load_judge_settings(both, proto)
    empty = write(tmp_path, "empty.yaml", "regex_patterns: []\n")
    with pytest.raises(ConfigError, match="non-empty list"):
        load_judge_settings(empty, proto)


def test_regex_future_warning_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # "[[" may become a nested set in a future Python: it compiles today, with a warning.
        compiled = compile_regex(r"[[AB]+", "j.yaml")
        with pytest.raises(ConfigError, match="does not compile"):
            compile_regex("[[", "j.yaml")
    assert compiled.fullmatch("A[B")
    assert [r.getMessage() for r in caplog.records] == [
        "j.yaml: regex '[[AB]+': Possible nested set at position 1"
    ]


def test_judge_settings_categories(shared_data: Path, tmp_path: Path) -> None:
    v2 = Bench(shared_data, "arena-hard-v2.0")
    cats = bench_categories(v2)
    s = load_judge_settings(None, v2.judge_config_file, cats)
    assert s.judge_models == ["gpt-4.1"]
    assert s.regex_patterns == [r"\[\[([AB<>=]+)\]\]", r"\[([AB<>=]+)\]"]
    assert {c: s.categories[c].baseline for c in ("hard_prompt", "coding", "creative_writing")} \
        == {"hard_prompt": "o3-mini-2025-01-31", "coding": "o3-mini-2025-01-31",
            "creative_writing": "gemini-2.0-flash-001"}
    prompts = {c: v.system_prompt for c, v in s.categories.items()}
    assert prompts["creative_writing"] != prompts["hard_prompt"] == prompts["coding"]
    assert s.baseline_model == "" and s.system_prompt == ""
    # The same keys in the setting file replace the bench's.
    own = write(tmp_path, "own.yaml", "bench_name: b\njudge_model: j\n"
                "prompt_template: '{QUESTION}'\ncategories:\n"
                "  poems: {baseline: p-base, system_prompt: judge poems}\n")
    assert list(load_judge_settings(own, None, cats).categories) == ["poems"]
    # A setting file naming its own baseline judges against that one.
    single = write(tmp_path, "single.yaml", "baseline_model: x\nsystem_prompt: judge\n")
    s = load_judge_settings(single, v2.judge_config_file, cats)
    assert (s.categories, s.baseline_model) == ({}, "x")
    neither = write(tmp_path, "neither.yaml", "bench_name: b\njudge_model: j\n"
                    "prompt_template: '{QUESTION}'\n")
    with pytest.raises(ConfigError, match="neither a baseline_model nor categories"):
        load_judge_settings(neither, None, {})
    bad = write(tmp_path, "bad.yaml", "bench_name: b\njudge_model: j\nprompt_template: q\n"
                "categories:\n  poems: {baseline: p-base}\n")
    with pytest.raises(ConfigError, match="category 'poems': system_prompt is required"):
        load_judge_settings(bad, None, {})


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ("m:\n  model_name: m\n  endpoints:\n    - api_base: http://x\n"
         "      api_key: sk-live-0123456789abcdef: [\n", "5:40",
         "mapping values are not allowed here"),
        ("m:\n  endpoints: [{api_key: sk-live-0123456789abcdef\n", "3:1",
         "expected ',' or '}', but got '<stream end>' (while parsing a flow mapping at line 2)"),
        ("m:\n\tapi_key: sk-live-0123456789abcdef\n", "2:1",
         "found character '\\t' that cannot start any token"),
    ],
)
def test_yaml_error_in_endpoint_file_never_quotes_the_line(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    p = write(tmp_path, "api_config.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_endpoints(p)
    assert str(info.value) == f"{p}:{where}: invalid YAML: {problem}"
    assert "sk-live" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is None
