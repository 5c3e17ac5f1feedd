"""``koarena translate`` against the fake server on 127.0.0.1: real Arena-Hard v2.0 prompts,
masks kept byte for byte, faults (a dropped mask, an answer, English, a refusal), resume,
--only-flagged, multi-turn records, the dry run, the review page, and the Korean bench
answered and judged end to end."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from koarena.bench import Bench
from koarena.cli import main
from koarena.config import load_endpoints
from koarena.runner.run import StageRunner
from koarena.testing import FakeConfig, FakeServer, FaultRule
from koarena.testing.translator import REFUSAL, fake_translation
from koarena.translation.masking import find_spans, mask, prose
from koarena.translation.review import write_review
from koarena.translation.stage import TranslateSettings, dry_run, translate
from koarena.translation.task import needs_translation

SRC = "arena-hard-v2.0"
DST = "ko-arena-hard-v2.0"
KO_REF = "ko-arena-hard-v0.1"
# Real v2.0 prompts: a URL and numbers, inline and display math, HTML tags, a path and a
# config section, a fenced puzzle, printf placeholders, a file name, creative writing (one in
# Spanish), and prompts with nothing to mask.
SUBSET = [
    "f3d8baf3111a4148", "4ba8509518344c83", "295a67e807ab4b3d", "d5cdf24c4e614beb",
    "530bfc669bda4e3a", "2edbb5f36f5b42be", "e51d15007484432c", "7b2368abe4904c8f",
    "9f74a2159faa4c94", "d657b1fb82b141da", "5ab052c7cef84016", "63497fa57f3241fd",
    "8d06d08f63e64e56", "666d2acdd7d64e17",
]


def load(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def expected_translation(source: str) -> str:
    """What a correct run writes for one turn with the fake translator."""
    m = mask(source)
    return m.restore(fake_translation(m.text)) if needs_translation(m) else source


def make_data(shared: Path, root: Path, uids: list[str] | None) -> Path:
    data = root / "data"
    src = data / SRC
    src.mkdir(parents=True)
    rows = load(shared / SRC / "question.jsonl")
    if uids is not None:
        by_id = {r["uid"]: r for r in rows}
        rows = [by_id[u] for u in uids]
    (src / "question.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    for name in ("judge_config.yaml", "judge_settings.yaml"):
        shutil.copy(shared / SRC / name, src / name)
    (data / KO_REF).mkdir()
    shutil.copy(shared / KO_REF / "judge_config.yaml", data / KO_REF / "judge_config.yaml")
    return data


def endpoint_file(root: Path, srv: FakeServer, names: tuple[str, ...] = ("tr",)) -> Path:
    path = root / "api_config.yaml"
    path.write_text("".join(
        f"{n}:\n  model_name: {n}-api\n  endpoints:\n    - api_base: {srv.base_url}\n"
        f"      api_key: sk-test\n  api_type: openai\n  parallel: 8\n  timeout: 10\n"
        "  price: {input: 1.0, output: 2.0}\n" for n in names), encoding="utf-8")
    return path


def translate_cli(data: Path, endpoints: Path, *extra: str) -> int:
    return main(["translate", "--from", SRC, "--to", DST, "--model", "tr", "--endpoint-file",
                 str(endpoints), "--data-dir", str(data), "--retry-base", "0.01", *extra])


@pytest.fixture
def subset(shared_data: Path, tmp_path: Path) -> Path:
    return make_data(shared_data, tmp_path, SUBSET)


def test_translates_real_prompts_keeping_every_protected_span(
        subset: Path, tmp_path: Path, fake_server: Callable[[FakeConfig], FakeServer]) -> None:
    srv = fake_server(FakeConfig())
    endpoints = endpoint_file(tmp_path, srv)
    assert translate_cli(subset, endpoints) == 0
    source = {r["uid"]: r for r in load(subset / SRC / "question.jsonl")}
    out = load(subset / DST / "question.jsonl")
    assert [r["uid"] for r in out] == SUBSET
    for r in out:
        src = source[r["uid"]]
        assert set(r) == {*src, "translation"}
        assert (r["category"], r["subcategory"]) == (src["category"], src["subcategory"])
        assert r["prompt"] == expected_translation(src["prompt"])
        assert all(s.text in r["prompt"] for s in find_spans(src["prompt"]))
        info = r["translation"]
        assert (info["source_bench"], info["source"], info["translator"],
                info["translator_model"]) == (SRC, [src["prompt"]], "tr", "tr-api")
        assert info["requests"] == 1
        assert info["flags"] == []
    assert srv.state.total == len(SUBSET)
    # Byte for byte: the fenced puzzle, the display math, the URL.
    by_id = {r["uid"]: r["prompt"] for r in out}
    for uid, kind in [("2edbb5f36f5b42be", "code"), ("295a67e807ab4b3d", "math"),
                      ("f3d8baf3111a4148", "url")]:
        spans = [s.text for s in find_spans(source[uid]["prompt"]) if s.kind == kind]
        assert spans and all(s in by_id[uid] for s in spans)

    # Resume: nothing left to ask.
    assert translate_cli(subset, endpoints) == 0
    assert srv.state.total == len(SUBSET)
    assert len(load(subset / DST / "question.jsonl")) == len(SUBSET)

    # The judging protocol: the bench's, with the Korean instructions in every category.
    cfg = yaml.safe_load((subset / DST / "judge_config.yaml").read_text(encoding="utf-8"))
    assert cfg["bench_name"] == DST
    src_settings = yaml.safe_load((subset / SRC / "judge_settings.yaml").read_text("utf-8"))
    ko_settings = yaml.safe_load((subset / DST / "judge_settings.yaml").read_text("utf-8"))
    assert list(ko_settings["categories"]) == list(src_settings["categories"])
    for name, cat in ko_settings["categories"].items():
        assert cat["baseline"] == src_settings["categories"][name]["baseline"]
        assert "Answers that are written in fluent Korean will earn additional credit." in (
            cat["system_prompt"])
        assert "helpful, relevant, concise, and fluent" in cat["system_prompt"]
    ko_v01 = yaml.safe_load((subset / KO_REF / "judge_config.yaml").read_text("utf-8"))
    assert ko_settings["categories"]["arena-hard-v0.1"]["system_prompt"] == (
        ko_v01["system_prompt"])
    creative = ko_settings["categories"]["creative_writing"]["system_prompt"]
    assert "compare both assistants' answers. You must identify" in creative
    assert "generating your own answer" not in creative

    assert main(["data", "check", "--strict", "--data-dir", str(subset), "--bench", DST]) == 0


def test_faults_fail_or_flag_and_only_flagged_repairs(
        subset: Path, tmp_path: Path, fake_server: Callable[[FakeConfig], FakeServer]) -> None:
    srv = fake_server(FakeConfig(faults=[
        FaultRule("drop_mask", match="plasmoid", times=1),       # retried, then fine
        FaultRule("drop_mask", match="trailing zeros", times=3),  # fails all 3 tries
        FaultRule("answer", match="barber"),
        FaultRule("500", match="barber", times=2),                # its first re-run fails
        FaultRule("english", match="rijndael"),
        FaultRule("refuse", match="novel type of GAN"),
        FaultRule("503", match="glowing text", times=2),          # the runner retries
    ]))
    endpoints = endpoint_file(tmp_path, srv)
    assert translate_cli(subset, endpoints) == 1
    target = subset / DST
    out = {r["uid"]: r for r in load(target / "question.jsonl")}
    assert set(out) == set(SUBSET) - {"4ba8509518344c83"}
    failures = load(target / "logs" / "translate_failures.jsonl")
    assert [(f["key"], f["reason"]) for f in failures] == [("4ba8509518344c83", "mask_lost")]
    assert "missing tokens [1]" in failures[0]["error"]
    assert "(after 3 tries)" in failures[0]["error"]
    assert out["f3d8baf3111a4148"]["translation"]["requests"] == 2
    assert out["f3d8baf3111a4148"]["translation"]["flags"] == []
    assert "answered" in out["5ab052c7cef84016"]["translation"]["flags"]
    assert out["63497fa57f3241fd"]["translation"]["flags"] == ["low_hangul", "english_left"]
    # Returned untranslated: the tokens came back, so the English source is restored as is.
    assert out["63497fa57f3241fd"]["prompt"] == out["63497fa57f3241fd"]["translation"][
        "source"][0]
    assert out["8d06d08f63e64e56"]["prompt"] == REFUSAL
    assert "refusal" in out["8d06d08f63e64e56"]["translation"]["flags"]
    assert out["666d2acdd7d64e17"]["translation"]["flags"] == []  # after two 503s
    assert srv.state.faults == {"drop_mask": 4, "answer": 1, "english": 1, "refuse": 1,
                                "503": 2}  # the barber prompt's 500 rule is not used yet
    summary = load(target / "logs" / "run_summary.jsonl")[-1]
    assert (summary["stage"], summary["done"], summary["failed"]) == ("translate", 13, 1)
    assert summary["usage"]["tr"]["retries"] == 2
    assert summary["usage"]["tr"]["requests"] == len(SUBSET) + 3
    flagged = {k for k, r in out.items() if r["translation"]["flags"]}
    assert flagged == {"5ab052c7cef84016", "63497fa57f3241fd", "8d06d08f63e64e56"}

    page = write_review(Bench(subset, SRC), Bench(subset, DST), only_flagged=True)
    html = page.path.read_text(encoding="utf-8")
    assert page.items == 3
    assert all(k in html for k in flagged)
    assert "f3d8baf3111a4148" not in html
    assert '<span class="flag">answered</span>' in html

    # Only the flagged ones are asked again. The barber prompt gets two 500s (out of 2
    # attempts): it keeps its old (flagged) record; the two others come back clean.
    before = srv.state.total
    assert translate_cli(subset, endpoints, "--only-flagged", "--attempts", "2") == 1
    assert srv.state.total == before + 2 + 2
    rows = load(target / "question.jsonl")
    assert len(rows) == len({r["uid"] for r in rows}) == len(SUBSET) - 1
    assert {r["uid"] for r in rows if r["translation"]["flags"]} == {"5ab052c7cef84016"}
    assert [r for r in rows if r["uid"] == "5ab052c7cef84016"] == [out["5ab052c7cef84016"]]
    assert not (target / "logs" / "translate_rerun.jsonl").exists()
    assert translate_cli(subset, endpoints, "--only-flagged") == 0
    assert srv.state.total == before + 2 + 2 + 1
    rows = load(target / "question.jsonl")
    assert not any(r["translation"]["flags"] for r in rows)
    # A plain run picks up the failed one.
    assert translate_cli(subset, endpoints) == 0
    rows = load(target / "question.jsonl")
    assert [r["uid"] for r in rows] == SUBSET
    fruity = rows[SUBSET.index("4ba8509518344c83")]
    assert fruity["prompt"] == expected_translation(fruity["translation"]["source"][0])


def test_multi_turn_records_are_translated_turn_by_turn(
        tmp_path: Path, shared_data: Path,
        fake_server: Callable[[FakeConfig], FakeServer]) -> None:
    data = make_data(shared_data, tmp_path, [])
    records = [
        {"question_id": "v01", "category": "arena-hard-v0.1", "cluster": "c",
         "turns": [{"content": "Write `ls -l` output as a Python list."},
                   {"content": "Now sort it by size, please."}]},
        {"uid": "v2", "category": "hard_prompt", "subcategory": "coding",
         "messages": [{"role": "user", "content": "Explain https://x.io in 3 lines."},
                      {"role": "assistant", "content": "It is a website about things."},
                      {"role": "user", "content": "<script>alert(1)</script> Is this safe?"}]},
        {"uid": "code-only", "category": "hard_prompt", "prompt": "```\n42\n```"},
    ]
    (data / SRC / "question.jsonl").write_bytes(
        b"".join(orjson.dumps(r) + b"\n" for r in records))
    srv = fake_server(FakeConfig())
    assert translate_cli(data, endpoint_file(tmp_path, srv)) == 0
    assert srv.state.total == 5  # 2 + 3 turns; the bare code block needs no request
    out = load(data / DST / "question.jsonl")
    assert out[0]["turns"] == [{"content": expected_translation(t["content"])}
                               for t in records[0]["turns"]]
    assert [m["role"] for m in out[1]["messages"]] == ["user", "assistant", "user"]
    assert [m["content"] for m in out[1]["messages"]] == [
        expected_translation(m["content"]) for m in records[1]["messages"]]
    assert out[1]["messages"][2]["content"].startswith("<script>")
    assert "(1)</script> " in out[1]["messages"][2]["content"]
    assert out[2]["prompt"] == "```\n42\n```"
    assert out[2]["translation"]["requests"] == 0
    assert [len(r["translation"]["checks"]) for r in out] == [2, 3, 1]
    # The Korean questions load as questions (v2.0 messages: the user turns).
    qs = Bench(data, DST).load_questions()
    assert [len(q.turns) for q in qs] == [2, 2, 1]

    page = write_review(Bench(data, SRC), Bench(data, DST))
    html = page.path.read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the source, shown as text
    assert "script-src" not in html and "default-src 'none'" in html


def test_dry_run_sends_nothing(subset: Path, tmp_path: Path,
                               fake_server: Callable[[FakeConfig], FakeServer],
                               capsys: pytest.CaptureFixture[str]) -> None:
    srv = fake_server(FakeConfig())
    endpoints = endpoint_file(tmp_path, srv)
    assert translate_cli(subset, endpoints, "--dry-run") == 0
    assert srv.state.total == 0
    assert not (subset / DST / "question.jsonl").exists()
    assert "dry run: nothing was sent" in capsys.readouterr().err
    est = dry_run(Bench(subset, SRC), Bench(subset, DST), "tr", TranslateSettings())
    assert est.requests["tr"] == len(SUBSET)
    assert 0 < est.expected_output_tokens["tr"] < est.max_output_tokens["tr"]
    assert est.cost(load_endpoints(endpoints), "tr", est.expected_output_tokens) is not None


def test_review_alone_and_bad_input(subset: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["translate", "--from", SRC, "--to", DST, "--data-dir", str(subset)]) == 2
    assert "give --model" in capsys.readouterr().err
    endpoints = tmp_path / "api_config.yaml"
    endpoints.write_text("tr:\n  model_name: tr\n  endpoints:\n    - api_base: "
                         "http://127.0.0.1:9/v1\n      api_key: x\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in (subset / SRC).iterdir()}
    assert main(["translate", "--from", SRC, "--to", SRC, "--model", "tr", "--endpoint-file",
                 str(endpoints), "--data-dir", str(subset)]) == 2
    assert "must not be the source" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (subset / SRC).iterdir()} == before
    assert main(["translate", "--from", SRC, "--to", DST, "--model", "nope", "--endpoint-file",
                 str(endpoints), "--data-dir", str(subset)]) == 2
    assert "not in the endpoint file" in capsys.readouterr().err
    assert main(["translate", "--from", SRC, "--to", DST, "--model", "tr", "--endpoint-file",
                 str(endpoints), "--data-dir", str(subset), "--max-tokens", "0"]) == 2
    assert "--max-tokens and --mask-attempts must be at least 1" in capsys.readouterr().err
    assert not (subset / DST).exists()
    out = tmp_path / "review.html"
    assert main(["translate", "--from", SRC, "--to", DST, "--data-dir", str(subset),
                 "--review", str(out)]) == 0
    assert "0 of 14 questions translated" in out.read_text(encoding="utf-8")


def test_all_750_v2_prompts_offline(shared_data: Path, tmp_path: Path,
                                    fake_server: Callable[[FakeConfig], FakeServer]) -> None:
    """The whole of Arena-Hard v2.0 through the fake translator: every record written, in
    order, every protected span kept. The flags are the 95 prompts whose prose is mostly in
    another script (Russian, Chinese, …), which the fake translator (English words only)
    returns unchanged: a real run would see them if the translator skipped them."""
    data = make_data(shared_data, tmp_path, None)
    srv = fake_server(FakeConfig())
    runner = StageRunner(load_endpoints(endpoint_file(tmp_path, srv)))
    source, target = Bench(data, SRC), Bench(data, DST)
    outcome = translate(source, target, "tr", TranslateSettings(
        korean_reference=data / KO_REF / "judge_config.yaml"), runner)
    assert outcome.result.exit_code == 0
    assert (outcome.result.done, outcome.result.skipped) == (750, 0)
    src = load(data / SRC / "question.jsonl")
    out = load(data / DST / "question.jsonl")
    assert [r["uid"] for r in out] == [r["uid"] for r in src]
    assert srv.state.total == 748  # two prompts have nothing outside their masks
    for s, t in zip(src, out, strict=True):
        assert t["prompt"] == expected_translation(s["prompt"])
    assert outcome.summary.to_dict() == {"source": 750, "translated": 750, "flagged": 95,
                                         "by_flag": {"low_hangul": 95}}
    for s, t in zip(src, out, strict=True):
        if t["translation"]["flags"]:
            letters = prose(s["prompt"])
            latin = len(re.findall("[A-Za-z]", letters))
            assert len(re.findall(r"[^\W\dA-Za-z_]", letters)) > latin
    assert main(["data", "check", "--strict", "--data-dir", str(data), "--bench", DST]) == 0


def test_translated_bench_is_answered_and_judged(
        subset: Path, tmp_path: Path, fake_server: Callable[[FakeConfig], FakeServer]) -> None:
    """End to end on the Korean bench with a setting file that names one baseline and one
    system prompt (the Korean hard-prompt one) for all categories, then check the files."""
    srv = fake_server(FakeConfig(answer_tokens=20))
    endpoints = endpoint_file(tmp_path, srv, ("tr", "m", "base", "j"))
    assert translate_cli(subset, endpoints) == 0
    ko = yaml.safe_load((subset / DST / "judge_settings.yaml").read_text("utf-8"))
    gen = tmp_path / "gen_answer_config.yaml"
    gen.write_text(f"bench_name: {DST}\ntemperature: 0.0\nmax_tokens: 256\nnum_choices: 1\n"
                   "model_list: [m, base]\n", encoding="utf-8")
    judge = tmp_path / "judge_config.yaml"
    judge.write_text(yaml.safe_dump({
        "bench_name": DST, "judge_model": "j", "baseline_model": "base",
        "system_prompt": ko["categories"]["hard_prompt"]["system_prompt"],
        "model_list": ["m"], "max_tokens": 256}, allow_unicode=True), encoding="utf-8")
    common = ["--endpoint-file", str(endpoints), "--data-dir", str(subset)]
    assert main(["answer", "--setting-file", str(gen), *common]) == 0
    assert main(["judge", "--setting-file", str(judge), *common]) == 0
    judgments = load(subset / DST / "model_judgment" / "j" / "m.jsonl")
    assert sorted(j["question_id"] for j in judgments) == sorted(SUBSET)
    assert all(len(j["games"]) == 2 and all(g["score"] for g in j["games"])
               for j in judgments)
    assert main(["data", "check", "--strict", "--data-dir", str(subset), "--bench", DST]) == 0


def test_translated_v2_bench_is_judged_per_category_with_korean_prompts(
        subset: Path, tmp_path: Path, fake_server: Callable[[FakeConfig], FakeServer]) -> None:
    """The v2.0 protocol on the Korean bench: each question against its category's baseline,
    under its category's Korean judge prompt (from the translated judge_settings.yaml)."""
    ko = yaml.safe_load((subset / SRC / "judge_settings.yaml").read_text("utf-8"))
    cats = {"hard_prompt", "creative_writing"}
    baselines = sorted({ko["categories"][c]["baseline"] for c in cats})
    srv = fake_server(FakeConfig(answer_tokens=20))
    endpoints = endpoint_file(tmp_path, srv, ("tr", "m", "j", *baselines))
    assert translate_cli(subset, endpoints) == 0
    gen = tmp_path / "gen_answer_config.yaml"
    gen.write_text(yaml.safe_dump({"bench_name": DST, "max_tokens": 256,
                                   "model_list": ["m", *baselines]}), encoding="utf-8")
    judge = tmp_path / "judge_config.yaml"
    judge.write_text(yaml.safe_dump({"bench_name": DST, "judge_model": "j", "model_list": ["m"],
                                     "max_tokens": 256}), encoding="utf-8")
    common = ["--endpoint-file", str(endpoints), "--data-dir", str(subset)]
    assert main(["answer", "--setting-file", str(gen), *common]) == 0
    assert main(["judge", "--setting-file", str(judge), *common]) == 0
    template = yaml.safe_load((subset / DST / "judge_config.yaml").read_text("utf-8"))[
        "prompt_template"]
    korean = yaml.safe_load((subset / DST / "judge_settings.yaml").read_text("utf-8"))
    category = {r["uid"]: r["category"] for r in load(subset / DST / "question.jsonl")}
    judgments = load(subset / DST / "model_judgment" / "j" / "m.jsonl")
    assert sorted(j["question_id"] for j in judgments) == sorted(SUBSET)
    for j in judgments:
        cat = category[j["question_id"]]
        prompt = korean["categories"][cat]["system_prompt"]
        assert "fluent Korean will earn additional credit" in prompt
        assert j["category"] == cat
        assert j["prompt_hash"] == "sha256:" + hashlib.sha256(
            orjson.dumps([prompt, [template]])).hexdigest()
        assert all(g["score"] for g in j["games"])
    assert main(["data", "check", "--strict", "--data-dir", str(subset), "--bench", DST]) == 0
