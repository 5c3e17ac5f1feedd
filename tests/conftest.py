"""Shared fixtures: where the benchmark data lives (never copied into the repo).

The tests look for the data where a user's commands and the quick start do: ``$KOARENA_DATA_DIR``
if set, else ``./data`` in the repository, else a checkout beside it (``../shared/data``). When a
selected test needs the data and none is found, the run stops before any test with one message
that says how to point at it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = "ko-arena-hard-v0.1"
DATA_ENV = "KOARENA_DATA_DIR"


def data_candidates() -> list[Path]:
    """Where the tests look for the data, in order (only ``$KOARENA_DATA_DIR`` when it is set:
    a user who set it meant that directory)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return [Path(env)]
    return [REPO / "data", REPO.parent / "shared" / "data"]


def find_data_dir() -> Path | None:
    """The first candidate that holds the benchmark, or None."""
    return next(
        (d for d in data_candidates() if (d / BENCH / "question.jsonl").is_file()), None
    )


def missing_data_message() -> str:
    looked = ", ".join(str(d) for d in data_candidates())
    return (
        f"the tests need the benchmark data ({BENCH}/question.jsonl) and it is not in {looked}. "
        f"Point at the directory that holds {BENCH}/: {DATA_ENV}=/path/to/data "
        "./scripts/test.sh (./scripts/quickstart.sh downloads it into ./data)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # One clear stop instead of one error per test that needs the data.
    if find_data_dir() is None and any("shared_data" in i.fixturenames for i in items):
        raise pytest.UsageError(missing_data_message())


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The data directory that holds the benchmark (found at collection, see above)."""
    found = find_data_dir()
    assert found is not None, missing_data_message()
    return found


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(DATA_ENV, raising=False)
