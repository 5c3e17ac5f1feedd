"""`koarena leaderboard` end to end: output files, aliases, and bad input."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from koarena.cli import main

SmallBench = Callable[..., Path]
"""The ``small_bench`` fixture (tests/integration/conftest.py)."""

BENCH = "ko-arena-hard-v0.1"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "koarena", *args], capture_output=True, text=True, timeout=120
    )


def test_csv_and_json_outputs(small_bench: SmallBench, tmp_path: Path) -> None:
    data = small_bench()
    out_csv = tmp_path / "lb.csv"
    out_json = tmp_path / "lb.json"
    assert main(["leaderboard", "--data-dir", str(data), "--control", "style",
                 "--rounds", "30", "--output", str(out_csv)]) == 0
    assert main(["leaderboard", "--data-dir", str(data), "--style-control",
                 "--num-rounds", "30", "--output", str(out_json)]) == 0
    with open(out_csv, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[:5] == ["model", "score", "rating_q025", "rating_q975", "avg_tokens"]
    # the mean answer length, truncated to an integer as the original does
    assert {r["model"]: r["avg_tokens"] for r in rows} == {
        "claude-3.7-sonnet": "975", "gpt-4o-mini": "771", "o3-high": "1506"
    }
    assert {r["model"] for r in rows} == {"claude-3.7-sonnet", "gpt-4o-mini", "o3-high"}
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    base = next(r for r in rows if r["model"] == "claude-3.7-sonnet")
    assert (base["score"], base["rating_q025"], base["rating_q975"]) == ("50.0", "50.0", "50.0")
    for r in rows:
        assert float(r["rating_q025"]) <= float(r["score"]) <= float(r["rating_q975"])
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["control"] == "style"
    assert doc["rounds"] == 30
    by_model = {r["model"]: r["score"] for r in doc["rows"]}
    assert by_model == {r["model"]: float(r["score"]) for r in rows}


def test_table_on_stdout(small_bench: SmallBench) -> None:
    data = small_bench()
    r = run_cli("leaderboard", "--data-dir", str(data), "--rounds", "5")
    assert r.returncode == 0, r.stderr
    assert "o3-high" in r.stdout and "gpt-4o-mini" in r.stdout
    assert "95% CI" in r.stdout
    assert "games dropped" in r.stdout and "flagged answers" in r.stdout


def _assert_one_line_error(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_malformed_json_line(small_bench: SmallBench, tmp_path: Path) -> None:
    data = small_bench()
    f = data / BENCH / "model_judgment" / "ensemble" / "gpt-4o-mini.jsonl"
    lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(3, '{"question_id": "x", "games": [\n')
    f.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out.csv"
    r = run_cli("leaderboard", "--data-dir", str(data), "--rounds", "5", "--output", str(out))
    _assert_one_line_error(r, "gpt-4o-mini.jsonl:4: malformed JSON")
    assert not out.exists()


def test_torn_last_line_is_tolerated(small_bench: SmallBench) -> None:
    data = small_bench()
    f = data / BENCH / "model_judgment" / "ensemble" / "gpt-4o-mini.jsonl"
    with open(f, "a", encoding="utf-8") as fh:
        fh.write('{"question_id": "torn", "mod')
    r = run_cli("leaderboard", "--data-dir", str(data), "--rounds", "5")
    assert r.returncode == 0, r.stderr
    assert "torn" in r.stderr


def test_record_without_question_id(small_bench: SmallBench, tmp_path: Path) -> None:
    data = small_bench()
    f = data / BENCH / "model_judgment" / "ensemble" / "o3-high.jsonl"
    with open(f, "a", encoding="utf-8") as fh:
        fh.write('{"model": "o3-high", "games": [{"score": "A>B"}, {"score": "A>B"}]}\n')
    out = tmp_path / "out.json"
    r = run_cli("leaderboard", "--data-dir", str(data), "--output", str(out))
    _assert_one_line_error(r, "no question_id/uid")
    assert not out.exists()


def test_baseline_without_answers(small_bench: SmallBench, tmp_path: Path) -> None:
    data = small_bench()
    out = tmp_path / "out.csv"
    r = run_cli("leaderboard", "--data-dir", str(data), "--baseline", "gpt-4.5-preview",
                "--output", str(out))
    _assert_one_line_error(r, "baseline 'gpt-4.5-preview' has no answers")
    assert not out.exists()


def test_unknown_judge(small_bench: SmallBench) -> None:
    data = small_bench()
    r = run_cli("leaderboard", "--data-dir", str(data), "--judge", "gpt-5-judge")
    _assert_one_line_error(r, "unknown judge 'gpt-5-judge'")


@pytest.mark.parametrize("name", ["../../../../etc/passwd", "a/b", ".."])
def test_model_name_escaping_the_data_dir(
    small_bench: SmallBench, tmp_path: Path, name: str
) -> None:
    data = small_bench()
    out = tmp_path / "out.csv"
    r = run_cli("leaderboard", "--data-dir", str(data), "--baseline", name, "--output", str(out))
    _assert_one_line_error(r, "unsafe model name")
    assert not out.exists()


def test_model_name_inside_a_record_escaping(small_bench: SmallBench) -> None:
    data = small_bench()
    f = data / BENCH / "model_judgment" / "ensemble" / "o3-high.jsonl"
    with open(f, "a", encoding="utf-8") as fh:
        fh.write('{"question_id": "q", "model": "../../x", "games": [{"score": "A>B"}]}\n')
    r = run_cli("leaderboard", "--data-dir", str(data))
    # Caught as a judgment of another model before its name is ever used as a path.
    _assert_one_line_error(r, "o3-high.jsonl:21: a judgment of model '../../x' in the file of "
                              "model 'o3-high'")


def test_missing_data_dir(tmp_path: Path) -> None:
    r = run_cli("leaderboard", "--data-dir", str(tmp_path / "nope"))
    _assert_one_line_error(r, "koarena data pull")


def test_bad_output_suffix_and_conflicting_aliases(small_bench: SmallBench, tmp_path: Path) -> None:
    data = small_bench()
    r = run_cli("leaderboard", "--data-dir", str(data), "--output", str(tmp_path / "x.txt"))
    _assert_one_line_error(r, "must end in .csv or .json")
    r = run_cli("leaderboard", "--data-dir", str(data), "--control", "none", "--style-control")
    _assert_one_line_error(r, "contradicts")


def test_bench_without_judgments_names_the_commands_that_make_them(small_bench) -> None:  # type: ignore[no-untyped-def]
    data = small_bench()
    shutil.copytree(data / BENCH, data / "kotest")
    shutil.rmtree(data / "kotest" / "model_judgment")
    r = run_cli("leaderboard", "--data-dir", str(data), "--bench", "kotest")
    _assert_one_line_error(r, "")
    assert r.stderr == (
        f"error: bench 'kotest' has no judgments yet ({data / 'kotest' / 'model_judgment'} is "
        "missing or empty): make them with 'koarena judge' (or 'koarena run --model M' for "
        "answer, judge and ensemble in one go), or pick another bench with --bench "
        f"({BENCH} here has some)\n"
    )


def test_all_controls_write_the_original_file_names(
    small_bench: SmallBench, tmp_path: Path
) -> None:
    data = small_bench()
    out = tmp_path / "lb"
    assert main(["leaderboard", "--data-dir", str(data), "--control", "all", "--rounds", "3",
                 "--output-dir", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "length_control.csv", "markdown_control.csv", "no_control.csv", "style_control.csv"
    ]
    r = run_cli("leaderboard", "--data-dir", str(data), "--control", "all",
                "--output", str(tmp_path / "x.csv"))
    _assert_one_line_error(r, "--output takes one control")


def test_korean_fidelity_columns(small_bench: SmallBench, tmp_path: Path) -> None:
    data = small_bench()
    out = tmp_path / "lb.csv"
    r = run_cli("leaderboard", "--data-dir", str(data), "--rounds", "0", "--korean",
                "--output", str(out))
    assert r.returncode == 0, r.stderr
    assert "Korean %" in r.stdout
    with open(out, encoding="utf-8") as fh:
        rows = {row["model"]: row for row in csv.DictReader(fh)}
    for row in rows.values():
        assert 0.0 <= float(row["korean_share"]) <= 100.0
        assert 0 <= int(row["not_korean"]) <= 20
    # the baseline cannot drift from itself
    assert rows["claude-3.7-sonnet"]["not_korean"] == "0"
    plain = tmp_path / "plain.csv"
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0",
                 "--output", str(plain)]) == 0
    assert "korean_share" not in plain.read_text(encoding="utf-8").splitlines()[0]
