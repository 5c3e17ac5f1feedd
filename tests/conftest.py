"""Shared fixtures: where the benchmark data lives (never copied into the repo).

The tests look for the data where a user's commands and the quick start do: ``$KOARENA_DATA_DIR``
if set, else ``./data`` in the repository, else a checkout beside it (``../shared/data``). When a
selected test needs the data and none is found, the run stops before any test with one message
that says how to point at it.

What is costly to compute on the whole data (the leaderboards, the analysis) is computed once
per session here and shared by the modules that check it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from xdist.scheduler import LoadScopeScheduling

from koarena import korean
from koarena.bench import Bench
from koarena.cli import main
from koarena.controls import Control
from koarena.ensemble import ENSEMBLE_JUDGE
from koarena.leaderboard import Leaderboard, LoadedData, fit_leaderboards, load_battles

REPO = Path(__file__).resolve().parents[1]
BENCH = "ko-arena-hard-v0.1"
DATA_ENV = "KOARENA_DATA_DIR"
FULL_ROUNDS = 20
"""Bootstrap rounds of the whole-data fixtures (and of the report site the browser tests build):
enough to exercise the intervals; the point estimates do not depend on them."""
FULL_SEED = 42
PUBLISHED_CONTROLS = (Control.NONE, Control.STYLE, Control.LENGTH, Control.MARKDOWN)
FULL_CONTROLS = (*PUBLISHED_CONTROLS, Control.STYLE_KOREAN)
"""The published controls and the report's fifth: style with each answer's Hangul share."""


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


WHOLE_DATA_FIXTURES = frozenset(
    {"full_bench", "full_data", "profiles_once", "full_boards", "full_analysis", "full_site"}
)
WHOLE_DATA_MODULES = frozenset({
    "tests/browser/test_analysis_page.py",
    "tests/browser/test_browse_page.py",
    "tests/browser/test_leaderboard_page.py",
    "tests/browser/test_new_views.py",
    "tests/integration/test_analyze_shared.py",
    "tests/integration/test_leaderboard_shared.py",
})
"""The modules whose tests use the whole-data session fixtures: under ``pytest -n 2``
(./scripts/test.sh) they run in one worker, which computes each fixture once."""


def _fixtures(item: pytest.Item) -> list[str]:
    # Test functions have fixture names; other items (doctests) may not.
    names: list[str] = getattr(item, "fixturenames", [])
    return names


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # One clear stop instead of one error per test that needs the data.
    if find_data_dir() is None and any("shared_data" in _fixtures(i) for i in items):
        _stop_before_any_test(config, items, missing_data_message())
        return
    # The scheduler below only sees test ids, so the list is kept by hand and checked here.
    unlisted = sorted({
        i.nodeid.split("::")[0] for i in items
        if WHOLE_DATA_FIXTURES.intersection(_fixtures(i))
        and i.nodeid.split("::")[0] not in WHOLE_DATA_MODULES
    })
    if unlisted:
        _stop_before_any_test(
            config, items, f"add to WHOLE_DATA_MODULES in tests/conftest.py: {unlisted}"
        )


STOP_KEY = "koarena_stop"
"""Where a pytest-xdist worker leaves the message of `_stop_before_any_test` for the controller."""


def _stop_before_any_test(config: pytest.Config, items: list[pytest.Item], message: str) -> None:
    """Run nothing and say ``message`` once, as pytest's usage error (exit status 4).

    In one process that is `pytest.UsageError`. A pytest-xdist worker (./scripts/test.sh runs
    two) that raised it would die mid-collection and the controller would report an internal
    error; instead the worker keeps no test and hands the message to the controller, which
    prints it once and ends the run with the same status (`pytest_sessionfinish` below).
    """
    workeroutput: dict[str, Any] | None = getattr(config, "workeroutput", None)
    if workeroutput is None:
        raise pytest.UsageError(message)
    items.clear()
    workeroutput[STOP_KEY] = message


_STOPS = pytest.StashKey[list[str]]()
"""The messages the workers handed over (the controller's stash)."""


def pytest_testnodedown(node: Any, error: object) -> None:
    message = getattr(node, "workeroutput", {}).get(STOP_KEY)
    if message:
        node.config.stash.setdefault(_STOPS, []).append(message)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stops = session.config.stash.get(_STOPS, [])
    if stops:  # the controller of pytest-xdist workers, each of which stopped (see above)
        for message in dict.fromkeys(stops):  # once, though every worker found it
            print(f"ERROR: {message}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.USAGE_ERROR


WHOLE_DATA_SCOPE = "whole-data"
EARLY_SCOPES = (WHOLE_DATA_SCOPE, "tests/unit/test_style.py")
"""Handed out first, in this order: the whole-data scope, then a unit module that reads all
38,000 answers of the data (14 s; in collection order it came last and ran alone at the end)."""


class _ModuleScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist has no type hints
    """xdist's ``loadscope`` (a module's tests in one worker, so its module fixtures are made
    once), with the whole-data modules as one scope, handed out first.

    The order is the longest first, as far as it is known: `EARLY_SCOPES` (the whole-data scope
    is about half of the run's work, in one worker), then collection order: the browser and
    integration modules, whose tests start browsers, servers and subprocesses, before the many
    quick unit tests that even out the end. (xdist's own order, by number of tests, left single
    slow tests such as the llama.cpp one for the end.)
    """

    def _split_scope(self, nodeid: str) -> str:
        module = nodeid.split("::")[0]
        return WHOLE_DATA_SCOPE if module in WHOLE_DATA_MODULES else module

    def schedule(self) -> None:
        if self.collection is None:  # the first call makes the work queue: collection order
            self.config.option.loadscopereorder = False
        super().schedule()

    def _assign_work_unit(self, node: Any) -> None:
        for scope in reversed(EARLY_SCOPES):
            if scope in self.workqueue:
                self.workqueue.move_to_end(scope, last=False)
        super()._assign_work_unit(node)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> LoadScopeScheduling:
    return _ModuleScheduling(config, log)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The data directory that holds the benchmark (found at collection, see above)."""
    found = find_data_dir()
    assert found is not None, missing_data_message()
    return found


@pytest.fixture(scope="session")
def full_bench(shared_data: Path) -> Bench:
    return Bench(shared_data, BENCH)


ProfilesOnce = Callable[[], contextlib.AbstractContextManager[None]]


@pytest.fixture(scope="session")
def full_data(full_bench: Bench) -> LoadedData:
    """The ensemble's battles and every answer of the whole data, loaded once (what
    `koarena.leaderboard.compute_leaderboards` loads)."""
    return load_battles(full_bench, judges=[ENSEMBLE_JUDGE])


@pytest.fixture(scope="session")
def profiles_once(full_data: LoadedData) -> ProfilesOnce:
    """A context in which each answer text's Korean profile is computed once per session.

    The whole-data fixtures (the boards, ``koarena analyze``, the report site) each load the
    data themselves, as a user's commands do, and each profiles all 38,000 answers: 12 s of CPU
    apiece for the same values. Within the context, `koarena.korean.script_profile` (a pure
    function of the text, which every profile goes through) is memoised on the text, so the
    passes look the profiles up. Every answer of the data is profiled here, in this process,
    before any whole-data fixture runs: the report profiles in worker processes, which inherit
    the memo when they are forked but cannot add to it (when the site was built first,
    ``koarena analyze`` profiled everything a second time). Outside the context the function
    is the plain one.
    """
    memo = functools.cache(korean.script_profile)
    for answers in full_data.answers.values():
        for answer in answers.values():
            memo(korean.answer_text(answer))

    @contextlib.contextmanager
    def memoised() -> Iterator[None]:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(korean, "script_profile", memo)
            yield

    return memoised


@pytest.fixture(scope="session")
def full_boards(full_data: LoadedData, profiles_once: ProfilesOnce) -> dict[Control, Leaderboard]:
    """The leaderboards of the whole data under `FULL_CONTROLS`, fitted as
    `koarena.leaderboard.compute_leaderboards` fits them."""
    with profiles_once():
        return fit_leaderboards(
            full_data, FULL_CONTROLS, bench=BENCH, rounds=FULL_ROUNDS, seed=FULL_SEED
        )


@dataclass(frozen=True)
class AnalyzeRun:
    printed: str
    """What ``koarena analyze`` printed on stdout."""
    result: dict[str, Any]
    """The JSON it wrote with ``--output``."""


@pytest.fixture(scope="session")
def full_analysis(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, profiles_once: ProfilesOnce
) -> AnalyzeRun:
    """``koarena analyze`` on the whole data, run once (FULL_ROUNDS rounds, seed FULL_SEED)."""
    out = tmp_path_factory.mktemp("analysis") / "analysis.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), profiles_once():
        code = main([
            "analyze", "--data-dir", str(shared_data), "--rounds", str(FULL_ROUNDS),
            "--seed", str(FULL_SEED), "--output", str(out),
        ])
    assert code == 0
    return AnalyzeRun(printed.getvalue(), orjson.loads(out.read_bytes()))


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(DATA_ENV, raising=False)
    # The tests start about a hundred `koarena` processes; with bytecode caching off (as many
    # container images set it) each would compile the package again (0.2 s of CPU apiece).
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)
