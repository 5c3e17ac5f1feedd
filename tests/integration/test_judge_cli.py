"""``koarena judge`` end to end in subprocesses against the fake server on 127.0.0.1:
verdicts, the follow-up turn, unparsed games, unjudgeable answers, resume, dry run."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from koarena.judge_protocol import FOLLOW_UP_PROMPT
from koarena.testing import FakeConfig, FakeServer, FaultRule, verdict_for

BENCH = "kotest"
SRC = "ko-arena-hard-v0.1"
BASELINE = "claude-3.7-sonnet"
PLANTED = "sk-planted-JUDGE-KEY-0a1b2c3d4e5f"
N_QUESTIONS = 6
# Question index → what the judged model's answer file holds instead of a real answer.
BROKEN = {1: "$ERROR$", 2: "", 3: None}
JUDGEABLE = [0, 4, 5]
API_NAMES = {
    "j1": "fake-judge-1",
    "j2": "fake-judge-2",
    "r1": "judge-reasoner",
    "t1": "judge-think",
}


def load(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


@pytest.fixture
def server(fake_server: Callable[[FakeConfig], FakeServer]) -> FakeServer:
    return fake_server(FakeConfig(require_key=PLANTED))


class Workspace:
    """A tiny bench: six shared-data questions, the baseline's answers and model ``m``'s."""

    def __init__(self, root: Path, shared: Path, srv: FakeServer) -> None:
        src = shared / SRC
        self.data = root / "data"
        self.bench = self.data / BENCH
        self.questions = load(src / "question.jsonl")[:N_QUESTIONS]
        ids = [q["question_id"] for q in self.questions]
        self.protocol = yaml.safe_load((src / "judge_config.yaml").read_text(encoding="utf-8"))
        (self.bench / "model_answer").mkdir(parents=True)
        (self.bench / "judge_config.yaml").write_text(
            (src / "judge_config.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
        self._write("question.jsonl", self.questions)
        base = {r["question_id"]: r for r in load(src / "model_answer" / f"{BASELINE}.jsonl")}
        self.baseline = [base[i] for i in ids]
        self._write(f"model_answer/{BASELINE}.jsonl", self.baseline)
        mini = {r["question_id"]: r for r in load(src / "model_answer" / "gpt-4o-mini.jsonl")}
        self.answers: list[dict[str, Any] | None] = []
        for i, qid in enumerate(ids):
            rec = {**mini[qid], "model_id": "m"}
            if i in BROKEN:
                text = BROKEN[i]
                if text is None:
                    self.answers.append(None)
                    continue
                rec["choices"] = [{"index": 0, "turns": [{"content": text}]}]
            self.answers.append(rec)
        self._write("model_answer/m.jsonl", [a for a in self.answers if a is not None])
        self.settings = root / "judge_settings.yaml"
        self.settings.write_text(
            f"bench_name: {BENCH}\njudge_model: j1\nmodel_list: [m]\n", encoding="utf-8"
        )
        self.endpoints = root / "api_config.yaml"
        self.endpoints.write_text(
            "".join(
                f"{name}:\n  model_name: {api}\n  endpoints:\n"
                f"    - api_base: {srv.base_url}\n      api_key: ${{KOARENA_TEST_KEY}}\n"
                "  api_type: openai\n  parallel: 4\n  timeout: 5\n"
                "  price: {input: 1.0, output: 2.0}\n"
                for name, api in API_NAMES.items()
            ),
            encoding="utf-8",
        )

    def _write(self, rel: str, rows: list[dict[str, Any]]) -> None:
        (self.bench / rel).write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))

    def qtext(self, i: int) -> str:
        return str(self.questions[i]["turns"][0]["content"])

    def user_prompt(self, i: int, game: int) -> str:
        """Game 1 shows the baseline as A; game 2 the model."""
        base = self.baseline[i]["choices"][0]["turns"][0]["content"]
        answer = self.answers[i]
        assert answer is not None
        model = answer["choices"][0]["turns"][0]["content"]
        a, b = (base, model) if game == 0 else (model, base)
        template: str = self.protocol["prompt_template"][0]
        return template.format(question_1=self.qtext(i), answer_1=a, answer_2=b)

    def convo(self, i: int, game: int, *later: str) -> str:
        """The conversation as the fake server keys and hashes it."""
        return "\x01".join([self.protocol["system_prompt"], self.user_prompt(i, game), *later])

    def expected_verdict(self, judge: str, i: int, game: int) -> str:
        return verdict_for(API_NAMES[judge], self.convo(i, game))

    def judgments(self, judge: str = "j1") -> dict[str, dict[str, Any]]:
        path = self.bench / "model_judgment" / judge / "m.jsonl"
        return {r["question_id"]: r for r in load(path)}

    def qid(self, i: int) -> str:
        return str(self.questions[i]["question_id"])

    def command(self, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "koarena", "judge",
            "--setting-file", str(self.settings), "--endpoint-file", str(self.endpoints),
            "--data-dir", str(self.data), "--retry-base", "0.01", *extra,
        ]  # fmt: skip

    @staticmethod
    def env() -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
        env["KOARENA_TEST_KEY"] = PLANTED
        return env

    def run(self, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*extra),
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def prompt_key(convo: str) -> str:
    return hashlib.sha1(convo.encode("utf-8")).hexdigest()[:16]


@pytest.fixture
def ws(tmp_path: Path, shared_data: Path, server: FakeServer) -> Workspace:
    return Workspace(tmp_path, shared_data, server)


def test_verdicts_of_two_judges_and_unjudgeable_answers(ws: Workspace, server: FakeServer) -> None:
    proc = ws.run("--judge", "j1", "j2")
    assert proc.returncode == 0, proc.stderr
    for judge in ("j1", "j2"):
        got = ws.judgments(judge)
        assert sorted(got) == sorted(ws.qid(i) for i in JUDGEABLE)
        for i in JUDGEABLE:
            rec = got[ws.qid(i)]
            assert [g["score"] for g in rec["games"]] == [
                ws.expected_verdict(judge, i, 0),
                ws.expected_verdict(judge, i, 1),
            ]
            assert (rec["model"], rec["judge"], rec["judge_model"], rec["baseline"]) == (
                "m",
                judge,
                API_NAMES[judge],
                BASELINE,
            )
            assert (rec["temperature"], rec["max_tokens"]) == (0.0, 16384)
            assert [g["user_prompt"] for g in rec["games"]] == [
                ws.user_prompt(i, 0),
                ws.user_prompt(i, 1),
            ]
            assert [g["attempts"] for g in rec["games"]] == [1, 1]
    # Exactly the judgeable questions' games were sent, each once: the $ERROR$, empty and
    # missing answers never reached a judge.
    assert server.state.total == 2 * 2 * len(JUDGEABLE)
    assert set(server.state.by_prompt) == {
        prompt_key(ws.convo(i, g)) for i in JUDGEABLE for g in (0, 1)
    }
    assert set(server.state.by_prompt.values()) == {2}  # the same prompt once per judge
    assert "judge: 6 done, 0 skipped (already done), 0 failed" in proc.stderr
    assert "not judged (m): model answer failure marker $ERROR$: 1" in proc.stderr
    assert "not judged (m): model answer empty: 1" in proc.stderr
    assert "not judged (m): model answer missing: 1" in proc.stderr
    outputs = [proc.stdout, proc.stderr]
    outputs += [p.read_text(encoding="utf-8") for p in ws.bench.rglob("*.jsonl")]
    assert not any(PLANTED in text for text in outputs)


def test_follow_up_turn_gets_the_verdict(ws: Workspace, server: FakeServer) -> None:
    server.state.config.faults.append(FaultRule("no_verdict", match=ws.qtext(0)[:40]))
    proc = ws.run()
    assert proc.returncode == 0, proc.stderr
    game1, game2 = ws.judgments()[ws.qid(0)]["games"]
    first_reply = game1["messages"][2]["content"]
    assert "[[" not in first_reply
    assert [m["role"] for m in game1["messages"]] == [
        "system", "user", "assistant", "user", "assistant",
    ]  # fmt: skip
    assert game1["messages"][3]["content"] == FOLLOW_UP_PROMPT
    expected = verdict_for("fake-judge-1", ws.convo(0, 0, first_reply, FOLLOW_UP_PROMPT))
    assert game1["score"] == expected
    assert game1["attempts"] == 2
    assert game1["judgment"] == f"\n{first_reply}\n{game1['messages'][4]['content']}"
    assert "unparsed_reason" not in game1
    assert game2["score"] == ws.expected_verdict("j1", 0, 1)
    assert game2["attempts"] == 1
    assert server.state.total == 2 * len(JUDGEABLE) + 1


def test_no_verdict_after_all_attempts_is_stored_unparsed(
    ws: Workspace, server: FakeServer
) -> None:
    server.state.config.faults += [
        FaultRule("no_verdict", match=ws.qtext(4)[:40], times=2),
        FaultRule("no_verdict", match=FOLLOW_UP_PROMPT, times=2),
    ]
    proc = ws.run()
    assert proc.returncode == 0, proc.stderr
    rec = ws.judgments()[ws.qid(4)]
    for game in rec["games"]:
        assert game["score"] is None
        assert game["unparsed_reason"] == "no verdict label after 2 attempt(s)"
        assert game["attempts"] == 2
    assert "unparsed games (j1 on m): 2" in proc.stderr
    assert server.state.total == 2 * len(JUDGEABLE) + 2
    # An unparsed game is a recorded outcome: the next run asks for nothing.
    again = ws.run()
    assert again.returncode == 0
    assert "0 done, 3 skipped" in again.stderr
    assert server.state.total == 2 * len(JUDGEABLE) + 2


def test_resume_after_a_failed_run_requests_only_what_is_missing(
    ws: Workspace, server: FakeServer
) -> None:
    server.state.config.faults.append(FaultRule("500", match=ws.qtext(5)[:40]))
    proc = ws.run("--attempts", "1")
    assert proc.returncode == 1
    assert "judge: 2 done, 0 skipped (already done), 1 failed" in proc.stderr
    assert "failed (transient): 1" in proc.stderr
    assert sorted(ws.judgments()) == sorted([ws.qid(0), ws.qid(4)])
    (failure,) = load(ws.bench / "logs" / "judge_failures.jsonl")
    assert (failure["stage"], failure["key"], failure["model"]) == ("judge", ws.qid(5), "j1")
    first = dict(ws.judgments())

    again = ws.run("--attempts", "1")
    assert again.returncode == 0, again.stderr
    assert "judge: 1 done, 2 skipped (already done), 0 failed" in again.stderr
    final = ws.judgments()
    assert {k: final[k] for k in first} == first
    assert [g["score"] for g in final[ws.qid(5)]["games"]] == [
        ws.expected_verdict("j1", 5, 0),
        ws.expected_verdict("j1", 5, 1),
    ]
    # No completed game was asked twice; only the game that got the 500 was sent again.
    counts = server.state.by_prompt
    assert counts[prompt_key(ws.convo(5, 0))] == 2
    assert all(counts[prompt_key(ws.convo(i, g))] == 1 for i in (0, 4) for g in (0, 1))
    assert counts[prompt_key(ws.convo(5, 1))] == 1
    assert server.state.total == 2 * len(JUDGEABLE) + 1


@pytest.mark.parametrize("judge", ["r1", "t1"])
def test_reasoning_judge_thinking_kept_apart(ws: Workspace, server: FakeServer, judge: str) -> None:
    proc = ws.run("--judge", judge)
    assert proc.returncode == 0, proc.stderr
    api = API_NAMES[judge]
    for i in JUDGEABLE:
        rec = ws.judgments(judge)[ws.qid(i)]
        for g, game in enumerate(rec["games"]):
            key = prompt_key(ws.convo(i, g))
            assert game["score"] == ws.expected_verdict(judge, i, g)
            assert game["judge_reasoning"] == [f"{api} 생각 {key}"]
            reply = game["messages"][2]["content"]
            assert reply.startswith("두 답변을 비교했습니다.")
            assert "생각" not in reply
            assert game["judgment"] == "\n" + reply


def test_dry_run_sends_nothing(ws: Workspace, server: FakeServer) -> None:
    proc = ws.run("--dry-run", "--judge", "j1", "j2")
    assert proc.returncode == 0, proc.stderr
    assert server.state.total == 0
    assert not (ws.bench / "model_judgment").exists()
    assert "dry run: nothing was sent" in proc.stdout + proc.stderr
    assert "0 already done (skipped)" in proc.stderr
    assert "not judged (m): model answer missing: 1" in proc.stderr


def test_unknown_judge_fails_with_one_line(ws: Workspace, server: FakeServer) -> None:
    proc = ws.run("--judge", "nobody")
    assert proc.returncode == 2
    assert "judge(s) not in the endpoint file: nobody" in proc.stderr
    assert server.state.total == 0


def test_kill_9_then_resume_equals_an_uninterrupted_run(
    ws: Workspace, server: FakeServer, tmp_path: Path, shared_data: Path
) -> None:
    # Every game of a judge in flight at once, so that no held request waits for a free slot
    # (with one slot, a held game sent before the first question's second game stopped the run
    # until the client's 5 s timeout).
    ws.endpoints.write_text(
        ws.endpoints.read_text(encoding="utf-8").replace(
            "parallel: 4", f"parallel: {2 * len(JUDGEABLE)}"
        ),
        encoding="utf-8",
    )
    # The kill point is scripted, not timed: the server answers j1's two games of the first
    # judgeable question and holds every other request, so exactly one judgment is on disk.
    first, *others = JUDGEABLE
    holds = [
        *(FaultRule("hang", match=ws.qtext(i), model=API_NAMES["j1"], times=100) for i in others),
        FaultRule("hang", model=API_NAMES["j2"], times=100),
    ]
    server.state.config.faults = holds
    out = ws.bench / "model_judgment" / "j1" / "m.jsonl"
    proc = subprocess.Popen(ws.command("--judge", "j1", "j2"), env=ws.env(), text=True)
    try:
        deadline = time.monotonic() + 120  # a bound against a hang, not a speed check
        while not (out.is_file() and out.read_bytes().count(b"\n") == 1):
            assert proc.poll() is None, "the run ended before the scripted point"
            assert time.monotonic() < deadline, "the scripted point was never reached"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    (done_qid,) = ws.judgments("j1")
    assert done_qid == ws.qid(first)
    assert not (ws.bench / "model_judgment" / "j2" / "m.jsonl").exists()

    server.state.config.faults = []
    log = tmp_path / "requests.jsonl"
    server.state.config.request_log = log
    again = ws.run("--judge", "j1", "j2")
    assert again.returncode == 0, again.stderr
    asked = [(r["model"], r["prompt"]) for r in load(log)]
    # The judgment on disk before the kill is not asked for again; every other one is, once
    # per game.
    expected = sorted(
        (API_NAMES[judge], prompt_key(ws.convo(i, g)))
        for judge in ("j1", "j2") for i in JUDGEABLE for g in (0, 1)
        if (judge, ws.qid(i)) != ("j1", done_qid)
    )
    assert sorted(asked) == expected
    clean = Workspace(tmp_path / "clean", shared_data, server)
    assert clean.run("--judge", "j1", "j2").returncode == 0
    for judge in ("j1", "j2"):
        assert comparable(ws.judgments(judge)) == comparable(clean.judgments(judge))
        lines = (ws.bench / "model_judgment" / judge / "m.jsonl").read_bytes().splitlines()
        assert len(lines) == len(JUDGEABLE)


def comparable(recs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records without their time stamps and prompt-cache hits (which depend on what the
    server's cache held when each request came, not on the judging)."""
    out = {qid: {k: v for k, v in r.items() if k != "tstamp"} for qid, r in recs.items()}
    for r in out.values():
        r["games"] = [{**g, "usage": {k: v for k, v in g["usage"].items()
                                      if k != "cached_input_tokens"}} for g in r["games"]]
    return out
