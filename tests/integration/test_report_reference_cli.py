"""`koarena report --reference`: a bad reference file or --no-analysis is one line, exit 2,
and no site is written."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


def report(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "koarena", "report", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("content", "extra", "needle"),
    [
        (None, [], "reference file not found"),
        ("name,score\na,1\n", [], "needs the columns model and score"),
        ("model,score\na,1\n", ["--no-analysis"], "--reference needs the analysis page"),
    ],
)
def test_bad_reference(
    small_bench: Callable[..., Path], tmp_path: Path, content: str | None, extra: list[str],
    needle: str,
) -> None:
    ref = tmp_path / "ref.csv"
    if content is not None:
        ref.write_text(content, encoding="utf-8")
    site = tmp_path / "site"
    r = report("--data-dir", str(small_bench()), "--output", str(site), "--reference", str(ref),
               *extra)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], lines
    assert not site.exists()
