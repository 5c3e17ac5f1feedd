"""The Arena-Hard v2.0 demo of docs/generation.md, end to end offline: the fake server answers
as gemini-2.0-flash-001 and a new model on a slice of the shared v2.0 questions, a fake judge
judges them per category, and the leaderboard prints both categories."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import yaml
from test_generation_demo import DEMO_URL, DOC, REPO, koarena, load, shown_in_doc

from koarena.jsonl import iter_jsonl, write_jsonl_atomic
from koarena.testing import FakeConfig, FakeServer

EXAMPLES = REPO / "examples" / "v2-demo"
V2 = "arena-hard-v2.0"
O3 = "o3-mini-2025-01-31"


def slice_bench(shared: Path, data: Path) -> list[dict[str, object]]:
    """The doc's shell lines: 4 questions of each category and o3-mini's answers to them."""
    src, dst = shared / V2, data / V2
    questions = [r for _, r in iter_jsonl(src / "question.jsonl")]
    sliced = [q for q in questions if q["category"] == "hard_prompt"][:4]
    sliced += [q for q in questions if q["category"] == "creative_writing"][:4]
    write_jsonl_atomic(dst / "question.jsonl", sliced)
    uids = {q["uid"] for q in sliced}
    write_jsonl_atomic(dst / "model_answer" / f"{O3}.jsonl",
                       [r for _, r in iter_jsonl(src / "model_answer" / f"{O3}.jsonl")
                        if r["uid"] in uids])
    for name in ("judge_config.yaml", "judge_settings.yaml"):
        shutil.copy(src / name, dst / name)
    return sliced


def test_v2_demo_as_documented(
    shared_data: Path, fake_server: Callable[[FakeConfig], FakeServer], tmp_path: Path
) -> None:
    server = fake_server(FakeConfig())
    doc = DOC.read_text(encoding="utf-8")
    endpoint_text = (EXAMPLES / "api_config.yaml").read_text(encoding="utf-8")
    endpoints = tmp_path / "api_config.yaml"
    endpoints.write_text(endpoint_text.replace(DEMO_URL, server.base_url), encoding="utf-8")
    data = tmp_path / "data"
    questions = slice_bench(shared_data, data)
    common = ["--endpoint-file", str(endpoints), "--data-dir", str(data)]
    answer = ["answer", "--setting-file", "examples/v2-demo/gen_answer_config.yaml", *common]
    judge = ["judge", "--setting-file", "examples/v2-demo/judge_config.yaml", *common]
    board = ["leaderboard", "--data-dir", str(data), "--bench", V2, "--judge", "gpt-4.1"]
    for args in ([*answer, "--model", "new-model"], [*judge, "--dry-run"], answer,
                 [*judge, "--dry-run"], judge, [*board, "--control", "none", "--rounds", "100"]):
        proc = koarena(*args)
        assert proc.returncode == 0, proc.stderr
        shown_in_doc(proc, doc)
    bad = koarena(*board, "-c", "poetry")
    assert bad.returncode == 2
    shown_in_doc(bad, doc)

    # `koarena run` on the same bench: everything is done, so it only ensembles and ranks the
    # model once per category (no control: 4 questions cannot fit v2.0's unpenalised style
    # model, which the default style control would say in one line).
    run = koarena("run", "--model", "new-model", "--setting-file",
                  "examples/v2-demo/gen_answer_config.yaml", "--judge-setting-file",
                  "examples/v2-demo/judge_config.yaml", "--control", "none", *common)
    assert run.returncode == 0, run.stderr
    flat = " ".join(run.stdout.split())
    assert flat.count("new-model: ensemble of gpt-4.1") == 2
    assert "category hard_prompt" in flat and "category creative_writing" in flat

    # What was sent: each category's system prompt and baseline answer.
    settings = yaml.safe_load((data / V2 / "judge_settings.yaml").read_text())["categories"]
    answers = {m: {r["question_id"]: r for r in load(data / V2 / "model_answer" / f"{m}.jsonl")}
               for m in ("gemini-2.0-flash-001", "new-model")}
    judgments = load(data / V2 / "model_judgment" / "gpt-4.1" / "new-model.jsonl")
    category = {str(q["uid"]): q["category"] for q in questions}
    assert sorted(str(j["question_id"]) for j in judgments) == sorted(category)
    for j in judgments:
        cat = category[j["question_id"]]
        assert j["category"] == cat
        assert j["baseline"] == settings[cat]["baseline"]
        for game in j["games"]:
            assert game["messages"][0] == {"role": "system",
                                           "content": settings[cat]["system_prompt"]}
        if cat == "creative_writing":
            gemini = answers["gemini-2.0-flash-001"][j["question_id"]]
            text = gemini["choices"][0]["turns"][0]["content"]
            # game 1 shows the creative baseline's answer as assistant A
            shown_first = "<|The Start of Assistant A's Answer|>\n" + text
            assert shown_first in j["games"][0]["user_prompt"]
