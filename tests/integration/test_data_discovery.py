"""The test suite finds the benchmark data as users do ($KOARENA_DATA_DIR), and says once how to
point at it when it is not there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEEDS_DATA = ["tests/integration/test_cli_output.py", "tests/integration/test_cli_leaderboard.py"]


def pytest_run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KOARENA_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_koarena_data_dir_is_where_the_tests_read_the_data(shared_data: Path) -> None:
    r = pytest_run(shared_data, "--collect-only", *NEEDS_DATA)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "tests collected" in r.stdout


# In one process, and on two pytest-xdist workers as ./scripts/test.sh runs it (where a usage
# error raised in a worker's collection became an internal error of the controller).
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_no_data_is_one_message_not_one_error_per_test(tmp_path: Path, workers: list[str]) -> None:
    r = pytest_run(tmp_path, *workers, *NEEDS_DATA)
    assert r.returncode == 4, r.stdout + r.stderr  # pytest's "usage error": nothing ran
    out = r.stdout + r.stderr
    message = (
        f"ERROR: the tests need the benchmark data (ko-arena-hard-v0.1/question.jsonl) and it is "
        f"not in {tmp_path}. Point at the directory that holds ko-arena-hard-v0.1/: "
        "KOARENA_DATA_DIR=/path/to/data ./scripts/test.sh (./scripts/quickstart.sh downloads it "
        "into ./data)\n"
    )
    assert out.count(message) == 1, out
    assert "passed" not in out and "error" not in out.replace("ERROR: ", "").lower()
