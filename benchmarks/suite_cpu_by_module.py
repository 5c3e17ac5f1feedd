"""A pytest plugin: the whole machine's CPU seconds spent while each test module ran.

Chromium double-forks away from pytest, so ``time`` and ``getrusage`` miss it; this reads
``/proc/stat`` (user + nice + system + irq + softirq) at each module boundary instead. Run the
suite in one process so that nothing else shares the machine's time:

    HF_HUB_OFFLINE=1 PYTHONPATH=$PWD/benchmarks .venv/bin/python -m pytest -q -n 0 \
        -p no:cacheprovider -p suite_cpu_by_module

The table, most CPU first, is printed at the end of the run; read, never asserted.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

_BUSY = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq in /proc/stat's "cpu" line


def busy_seconds() -> float:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return sum(int(fields[i]) for i in _BUSY) / 100  # USER_HZ


class _ByModule:
    def __init__(self) -> None:
        self.current: str | None = None
        self.start_cpu = 0.0
        self.start_wall = 0.0
        self.rows: list[tuple[float, float, str]] = []

    def switch(self, module: str | None) -> None:
        cpu, wall = busy_seconds(), time.monotonic()
        if self.current is not None:
            self.rows.append((cpu - self.start_cpu, wall - self.start_wall, self.current))
        self.current, self.start_cpu, self.start_wall = module, cpu, wall


_STATE = _ByModule()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    module = item.nodeid.split("::")[0]
    if module != _STATE.current:
        _STATE.switch(module)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    _STATE.switch(None)
    rows = sorted(_STATE.rows, reverse=True)
    terminalreporter.write_line(
        f"whole-machine CPU by module: {sum(r[0] for r in rows):.1f} s "
        f"({sum(r[1] for r in rows):.1f} s wall)"
    )
    for cpu, wall, module in rows:
        terminalreporter.write_line(f"{cpu:7.1f} s CPU {wall:7.1f} s wall  {module}")
