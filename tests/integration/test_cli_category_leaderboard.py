"""`koarena leaderboard` on a bench with categories: one table per category, the original
v2.0 flags, and bad input."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from v2_bench import synthetic_questions, write_bench

BENCH = "syn-v2"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli-v2") / "data"
    write_bench(data / BENCH, synthetic_questions(), ["m-one", "m-two"], seed=5)
    return data


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "koarena", *args], capture_output=True, text=True, timeout=120
    )


def test_without_category_prints_each_category(data_dir: Path) -> None:
    r = run_cli("leaderboard", "--data-dir", str(data_dir), "--bench", BENCH, "--judge", "jx",
                "--rounds", "5")
    assert r.returncode == 0, r.stderr
    # rich wraps a long title at the table's width
    hard, creative = " ".join(r.stdout.split()).split("category creative_writing")
    assert "category hard_prompt" in hard
    # each table names and lists its own baseline, never the other category's
    assert "baseline base-h" in hard and "base-c" not in hard
    assert "baseline base-c" in creative and "base-h" not in creative
    assert hard.count("m-one") == creative.count("m-one") == 1


def test_original_flags(data_dir: Path, tmp_path: Path) -> None:
    r = run_cli("leaderboard", "--data-dir", str(data_dir), "-b", BENCH, "-j", "jx",
                "-c", "coding", "math", "-f", "length", "markdown", "--rounds", "0",
                "--output-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "category coding" in r.stdout and "category math" in r.stdout
    assert "style control" in r.stdout
    for category in ("coding", "math"):
        with open(tmp_path / category / "style_control.csv", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert {row["model"] for row in rows} == {"base-h", "m-one", "m-two"}


def _one_line(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert r.stdout == ""


def test_unknown_category(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lb.csv"
    r = run_cli("leaderboard", "--data-dir", str(data_dir), "--bench", BENCH, "--judge", "jx",
                "--category", "poetry", "--output", str(out))
    _one_line(r, "category 'poetry' is not in this bench")
    assert not out.exists()


def test_category_on_a_bench_without_categories(small_bench) -> None:  # type: ignore[no-untyped-def]
    r = run_cli("leaderboard", "--data-dir", str(small_bench()), "--category", "hard_prompt")
    _one_line(r, "has no category settings")
