"""``koarena answer`` end to end in subprocesses against the fake server on 127.0.0.1:
kill -9 and resume, two writers on one file, reasoning kept apart, keys never leaked."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.style import conv_metadata
from koarena.testing import FakeConfig, FakeServer, FaultRule, answer_for

BENCH = "kotest"
PLANTED = "sk-planted-KEY-9f8e7d6c5b4a3210"
N_QUESTIONS = 40
DONE_BEFORE_KILL = 10


@pytest.fixture
def questions(shared_data: Path) -> list[dict[str, Any]]:
    src = shared_data / "ko-arena-hard-v0.1" / "question.jsonl"
    return [orjson.loads(x) for x in src.read_bytes().splitlines()[:N_QUESTIONS]]


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(answer_tokens=20, require_key=PLANTED))


def make_workspace(root: Path, srv: FakeServer, questions: list[dict[str, Any]],
                   parallel: int = 4, timeout: int = 5) -> dict[str, Path]:
    data = root / "data"
    (data / BENCH).mkdir(parents=True)
    (data / BENCH / "question.jsonl").write_bytes(
        b"".join(orjson.dumps(q) + b"\n" for q in questions))
    settings = root / "gen_answer_config.yaml"
    settings.write_text(f"bench_name: {BENCH}\ntemperature: 0.0\nmax_tokens: 512\n"
                        "num_choices: 1\nmodel_list: [m]\n", encoding="utf-8")
    endpoints = root / "api_config.yaml"
    entries = ""
    for name in ("m", "r-reasoner", "q-think"):
        entries += (f"{name}:\n  model_name: {name}\n  endpoints:\n"
                    f"    - api_base: {srv.base_url}\n      api_key: ${{KOARENA_TEST_KEY}}\n"
                    f"  api_type: openai\n  parallel: {parallel}\n  timeout: {timeout}\n"
                    f"  stream: {'true' if name == 'q-think' else 'false'}\n"
                    "  price: {input: 3.0, output: 15.0}\n")
    endpoints.write_text(entries, encoding="utf-8")
    return {"data": data, "settings": settings, "endpoints": endpoints}


def cli(ws: dict[str, Path], *extra: str, verbose: bool = False) -> list[str]:
    return [sys.executable, "-m", "koarena", *(["-v"] if verbose else []), "answer",
            "--setting-file", str(ws["settings"]), "--endpoint-file", str(ws["endpoints"]),
            "--data-dir", str(ws["data"]),
            "--retry-base", "0.01", *extra]


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
    e["KOARENA_TEST_KEY"] = PLANTED
    return e


def run_cli(ws: dict[str, Path], *extra: str, verbose: bool = False
            ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli(ws, *extra, verbose=verbose), env=env(), capture_output=True,
                          text=True, timeout=120, check=False)


def records(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def comparable(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["question_id"]: {k: v for k, v in r.items() if k != "tstamp"} for r in recs}


def test_answers_in_v01_format(server: FakeServer, tmp_path: Path,
                               questions: list[dict[str, Any]]) -> None:
    ws = make_workspace(tmp_path, server, questions)
    proc = run_cli(ws)
    assert proc.returncode == 0, proc.stderr
    recs = records(ws["data"] / BENCH / "model_answer" / "m.jsonl")
    assert [r["question_id"] for r in sorted(recs, key=lambda r: r["question_id"])] == sorted(
        q["question_id"] for q in questions)
    q0 = questions[0]
    r0 = next(r for r in recs if r["question_id"] == q0["question_id"])
    text = answer_for("m", q0["turns"][0]["content"], 20)
    assert r0["model_id"] == "m"
    assert r0["choices"] == [{"index": 0, "turns": [{"content": text, "finish_reason": "stop"}]}]
    assert r0["conv_metadata"] == conv_metadata(text).to_dict()
    assert "40 done, 0 skipped" in proc.stderr
    again = run_cli(ws)
    assert again.returncode == 0
    assert "0 done, 40 skipped" in again.stderr
    assert server.state.total == N_QUESTIONS


def test_multi_turn_sends_previous_answers(server: FakeServer, tmp_path: Path,
                                           questions: list[dict[str, Any]]) -> None:
    q = {**questions[0], "turns": [{"content": "첫 질문"}, {"content": "둘째 질문"}]}
    ws = make_workspace(tmp_path, server, [q])
    assert run_cli(ws).returncode == 0
    (rec,) = records(ws["data"] / BENCH / "model_answer" / "m.jsonl")
    first = answer_for("m", "첫 질문", 20)
    second = answer_for("m", "\x01".join(["첫 질문", first, "둘째 질문"]), 20)
    assert rec["choices"][0]["turns"] == [{"content": first, "finish_reason": "stop"},
                                          {"content": second, "finish_reason": "stop"}]
    assert rec["conv_metadata"] == conv_metadata(second).to_dict()


@pytest.mark.parametrize("model", ["r-reasoner", "q-think"])
def test_reasoning_stored_apart_and_not_counted(server: FakeServer, tmp_path: Path,
                                                questions: list[dict[str, Any]],
                                                model: str) -> None:
    ws = make_workspace(tmp_path, server, questions[:3])
    assert run_cli(ws, "--model", model).returncode == 0
    for rec in records(ws["data"] / BENCH / "model_answer" / f"{model}.jsonl"):
        q = next(q for q in questions if q["question_id"] == rec["question_id"])
        (turn,) = rec["choices"][0]["turns"]
        assert turn["content"] == answer_for(model, q["turns"][0]["content"], 20)
        assert turn["reasoning"].startswith(f"{model} 생각 ")
        assert rec["conv_metadata"] == conv_metadata(turn["content"]).to_dict()


def test_failures_exit_nonzero_and_are_retried(server: FakeServer, tmp_path: Path,
                                               questions: list[dict[str, Any]]) -> None:
    target = questions[5]["turns"][0]["content"][:30]
    server.state.config.faults.append(FaultRule("400", match=target))
    ws = make_workspace(tmp_path, server, questions[:10])
    proc = run_cli(ws)
    assert proc.returncode == 1
    assert "9 done, 0 skipped (already done), 1 failed" in proc.stderr
    assert "failed (fatal): 1" in proc.stderr
    out = ws["data"] / BENCH / "model_answer" / "m.jsonl"
    assert questions[5]["question_id"] not in {r["question_id"] for r in records(out)}
    (fail,) = records(ws["data"] / BENCH / "logs" / "answer_failures.jsonl")
    assert (fail["key"], fail["reason"]) == (questions[5]["question_id"], "fatal")
    assert "HTTP 400: injected 400" in fail["error"]
    again = run_cli(ws)
    assert again.returncode == 0
    assert "1 done, 9 skipped" in again.stderr
    assert server.state.total == 11


def test_dry_run_sends_nothing(server: FakeServer, tmp_path: Path,
                               questions: list[dict[str, Any]]) -> None:
    ws = make_workspace(tmp_path, server, questions[:4])
    proc = run_cli(ws, "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert server.state.total == 0
    assert "dry run" in proc.stderr
    assert "2048" in proc.stderr  # 4 requests × max_tokens 512
    assert not (ws["data"] / BENCH / "model_answer").exists()


def wait_for(done: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    """Wait for a state the fake server's script guarantees (a bound against a hang only)."""
    deadline = time.monotonic() + 120
    while not done():
        assert proc.poll() is None, "the client ended before the scripted point"
        assert time.monotonic() < deadline, "the scripted point was never reached"
        time.sleep(0.01)


def test_kill_9_and_resume_equals_uninterrupted_run(server: FakeServer, tmp_path: Path,
                                                    questions: list[dict[str, Any]]) -> None:
    log = tmp_path / "requests.jsonl"
    server.state.config.request_log = log
    ref = make_workspace(tmp_path / "ref", server, questions, parallel=2)
    assert run_cli(ref).returncode == 0
    reference = records(ref["data"] / BENCH / "model_answer" / "m.jsonl")
    log.unlink()

    # The kill point is scripted, not timed: the server answers DONE_BEFORE_KILL requests and
    # holds every later one, so exactly that many answers are on disk and both workers wait on
    # a held request when the client is killed.
    hold = FaultRule("hang", after=DONE_BEFORE_KILL, times=10 * N_QUESTIONS)
    server.state.config.faults = [hold]
    ws = make_workspace(tmp_path / "killed", server, questions, parallel=2)
    out = ws["data"] / BENCH / "model_answer" / "m.jsonl"
    proc = subprocess.Popen(cli(ws), env=env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: hold.used >= 2 and out.is_file()
                 and out.read_bytes().count(b"\n") == DONE_BEFORE_KILL, proc)
    finally:
        proc.kill()  # SIGKILL
        proc.wait()
    done_at_kill = {r["question_id"] for r in records(out)}
    assert len(done_at_kill) == DONE_BEFORE_KILL

    server.state.config.faults = []
    assert run_cli(ws).returncode == 0
    final = records(out)
    ids = [r["question_id"] for r in final]
    assert len(ids) == len(set(ids)) == N_QUESTIONS
    assert comparable(final) == comparable(reference)

    by_prompt: dict[str, int] = {}
    for req in records(log):
        by_prompt[req["last_user"]] = by_prompt.get(req["last_user"], 0) + 1
    asked = {q["question_id"]: by_prompt[q["turns"][0]["content"][:200]] for q in questions}
    # A completed item is never asked again; the others are asked until answered (the held
    # ones at least twice).
    assert {q: n for q, n in asked.items() if q in done_at_kill} == dict.fromkeys(done_at_kill, 1)
    assert len([q for q, n in asked.items() if q not in done_at_kill and n >= 2]) >= 2


def test_torn_tail_is_cut_off_and_not_duplicated(server: FakeServer, tmp_path: Path,
                                                 questions: list[dict[str, Any]]) -> None:
    ws = make_workspace(tmp_path, server, questions[:5])
    assert run_cli(ws).returncode == 0
    out = ws["data"] / BENCH / "model_answer" / "m.jsonl"
    lines = out.read_bytes().splitlines(keepends=True)
    torn_id = orjson.loads(lines[-1])["question_id"]
    out.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])  # a crash mid-append
    resumed = run_cli(ws)
    assert resumed.returncode == 0
    assert "removed a torn last line (40 bytes)" in resumed.stderr
    good = [r["question_id"] for r in records(out)]  # every line parses: no bad line left
    assert sorted(good) == sorted(q["question_id"] for q in questions[:5])
    assert good.count(torn_id) == 1
    assert server.state.total == 6


def test_second_run_on_the_same_file_exits_at_once(server: FakeServer, tmp_path: Path,
                                                   questions: list[dict[str, Any]]) -> None:
    # The first run's requests are held until the second run has ended (a timeout long
    # enough that none of them is retried meanwhile).
    server.hold()
    ws = make_workspace(tmp_path, server, questions, parallel=2, timeout=120)
    out = ws["data"] / BENCH / "model_answer" / "m.jsonl"
    lock = out.with_name(".m.jsonl.lock")
    first = subprocess.Popen(cli(ws), env=env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip() == str(first.pid)):
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.01)
        second = run_cli(ws)
        assert first.poll() is None  # the second run ended while the first was still running
    finally:
        server.release()
    assert second.returncode == 2
    assert second.stderr.strip().splitlines() == [
        f"error: {out} is being written by another koarena process (pid {first.pid}); "
        "wait for it to finish or stop it"]
    assert first.wait(timeout=120) == 0
    recs = records(out)
    assert sorted(r["question_id"] for r in recs) == sorted(q["question_id"] for q in questions)
    assert server.state.total == N_QUESTIONS  # every question asked once, by the first run


def test_api_key_never_appears_anywhere(server: FakeServer, tmp_path: Path,
                                        questions: list[dict[str, Any]]) -> None:
    ws = make_workspace(tmp_path, server, questions[:3])
    ok = run_cli(ws, verbose=True)
    assert ok.returncode == 0
    server.state.config.require_key = "sk-a-different-key"
    bad = run_cli(ws, "--model", "r-reasoner", "--attempts", "1", verbose=True)
    assert bad.returncode == 1
    assert "HTTP 401" in (ws["data"] / BENCH / "logs" / "answer_failures.jsonl").read_text()
    outputs = [ok.stdout, ok.stderr, bad.stdout, bad.stderr]
    outputs += [p.read_text(encoding="utf-8") for p in tmp_path.rglob("*")
                if p.is_file() and p.name != "api_config.yaml"]
    for text in outputs:
        assert PLANTED not in text
        assert PLANTED[:8] not in text
        assert PLANTED[-6:] not in text


def test_file_size_limit_stops_with_one_line_and_resumes(server: FakeServer, tmp_path: Path,
                                                         questions: list[dict[str, Any]]) -> None:
    ws = make_workspace(tmp_path, server, questions)
    out = ws["data"] / BENCH / "model_answer" / "m.jsonl"

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))

    full = subprocess.run(cli(ws), env=env(), capture_output=True, text=True, timeout=120,
                          check=False, preexec_fn=limit_file_size)
    assert full.returncode == 2
    assert full.stderr.strip().splitlines() == [
        f"error: cannot write {out}: file too large (file-size limit reached)"]
    kept = records(out)  # only whole lines: the failed append was rolled back
    assert 0 < len(kept) < N_QUESTIONS
    assert out.stat().st_size <= 6000
    assert run_cli(ws).returncode == 0
    final = records(out)
    assert sorted(r["question_id"] for r in final) == sorted(q["question_id"] for q in questions)


def test_bad_line_in_the_middle_stops_before_any_request(server: FakeServer, tmp_path: Path,
                                                         questions: list[dict[str, Any]]) -> None:
    ws = make_workspace(tmp_path, server, questions[:5])
    out = ws["data"] / BENCH / "model_answer" / "m.jsonl"
    out.parent.mkdir(parents=True)
    out.write_bytes(b'{"question_id": "x", "model_id": "m", "choices": []}\n{oops\n')
    r = run_cli(ws)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: {out}:2: malformed JSON (unexpected character, expected a string key); fix or "
        "remove that line to resume"]
    assert server.state.total == 0
    assert out.read_bytes() == b'{"question_id": "x", "model_id": "m", "choices": []}\n{oops\n'
