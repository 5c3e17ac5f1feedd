"""Shared fixtures: where the benchmark data lives (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``$KOARENA_SHARED_DATA`` or ``<repo>/../shared/data``."""
    env = os.environ.get("KOARENA_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not (d / "ko-arena-hard-v0.1" / "question.jsonl").is_file():
        pytest.fail(f"shared benchmark data not found at {d} (set KOARENA_SHARED_DATA)")
    return d


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("KOARENA_DATA_DIR", raising=False)
