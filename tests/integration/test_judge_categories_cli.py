"""`koarena judge` bad input on a bench with categories: one line, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from v2_bench import SETTINGS, synthetic_questions, write_bench, write_settings

BENCH = "syn-v2"
# Nothing listens on port 9: a request would fail, not pass silently.
ENDPOINTS = "jx:\n  model_name: jx\n  endpoints:\n    - api_base: http://127.0.0.1:9/v1\n"


def judge(data: Path, tmp_path: Path, settings: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "s.yaml").write_text(settings, encoding="utf-8")
    (tmp_path / "e.yaml").write_text(ENDPOINTS, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "koarena", "judge", "--setting-file", str(tmp_path / "s.yaml"),
         "--endpoint-file", str(tmp_path / "e.yaml"), "--data-dir", str(data)],
        capture_output=True, text=True, timeout=120,
    )


def _one_line(r: subprocess.CompletedProcess[str], needle: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines


def _files(data: Path) -> list[tuple[Path, int]]:
    return sorted((p.relative_to(data), p.stat().st_size) for p in data.rglob("*"))


SETTING = (f"bench_name: {BENCH}\njudge_model: jx\nprompt_template: '{{QUESTION}} {{ANSWER_A}} "
           "{ANSWER_B}'\nmodel_list: [m-one]\n")


def test_question_category_without_settings(tmp_path: Path) -> None:
    data = tmp_path / "data"
    hard_only = {c: v for c, v in SETTINGS.items() if c != "creative_writing"}
    write_bench(data / BENCH, synthetic_questions(), ["m-one"])
    # The bench's settings lose creative_writing after the answers were written.
    write_settings(data / BENCH, hard_only)
    before = _files(data)
    r = judge(data, tmp_path, SETTING)
    _one_line(r, "question c000: category 'creative_writing' has no judge settings")
    assert _files(data) == before


def test_setting_file_with_neither_baseline_nor_categories(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_bench(data / BENCH, synthetic_questions(), ["m-one"])
    (data / BENCH / "judge_settings.yaml").unlink()
    before = _files(data)
    r = judge(data, tmp_path, SETTING)
    _one_line(r, "neither a baseline_model nor categories")
    assert _files(data) == before
