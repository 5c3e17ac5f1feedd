"""A pytest plugin: the whole machine's CPU seconds spent setting up each costly fixture.

A companion of ``suite_cpu_by_module.py``, whose table charges a session fixture to the first
module that asks for it. This one reads ``/proc/stat`` (so the report's worker processes and
Chromium count) around every fixture's setup and lists those that took at least half a second,
in the order they finished (a fixture that asks for another finishes after it, and its time
includes the other's). Run the suite, or part of it, in one process:

    HF_HUB_OFFLINE=1 PYTHONPATH=$PWD/benchmarks .venv/bin/python -m pytest -q -n 0 \
        -p no:cacheprovider -p suite_cpu_by_fixture tests/browser/test_analysis_page.py

The table is printed at the end of the run; read, never asserted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from suite_cpu_by_module import busy_seconds

MIN_WALL = 0.5  # seconds: fixtures quicker than this are not listed

_ROWS: list[tuple[str, float, float]] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[object]) -> Iterator[None]:
    cpu, wall = busy_seconds(), time.monotonic()
    yield
    took = time.monotonic() - wall
    if took >= MIN_WALL:
        _ROWS.append((fixturedef.argname, busy_seconds() - cpu, took))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line("whole-machine CPU by fixture setup (finish order):")
    for name, cpu, wall in _ROWS:
        terminalreporter.write_line(f"{cpu:7.1f} s CPU {wall:7.1f} s wall  {name}")
