"""Report speed: `koarena report` on the full shared data, and the index's first render.

    .venv/bin/python benchmarks/bench_report.py [--data-dir ../shared/data] [--rounds 100]

Prints the wall time and peak memory of `koarena report` (the default 100 bootstrap rounds,
all cores; then one rendering worker for comparison unless --skip-single), the size of the index
page with its assets and of the data shards, and the first render of index.html in headless
Chromium from file:// (median of --loads fresh pages): time to first contentful paint and to
the leaderboard script's "ready" mark (table, chart and cluster view drawn). Timings are for
reading, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def run_report(
    data_dir: Path, out: Path, rounds: int, workers: int | None
) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (all processes) and peak RSS (MB, largest single process) of
    one `koarena report`. CPU time is the number to compare when the machine is shared."""
    cmd = [sys.executable, "-m", "koarena", "report", "--data-dir", str(data_dir),
           "--output", str(out), "--rounds", str(rounds)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def site_sizes(site: Path) -> tuple[int, int]:
    html = (site / "index.html").read_text("utf-8")
    loads = set(re.findall(r'(?:src|href)="(assets/[^"]+)"', html))  # what the index loads
    index = len(html.encode("utf-8")) + sum((site / a).stat().st_size for a in loads)
    shards = sum(p.stat().st_size for p in (site / "data").rglob("*.js"))
    return index, shards


def first_render(site: Path, loads: int) -> tuple[float, float]:
    """Median ms to first contentful paint and to the page's ready mark, fresh page each."""
    paint: list[float] = []
    ready: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(loads):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(site.joinpath("index.html").as_uri())
            page.wait_for_selector("body[data-ready='1']")
            page.wait_for_function(
                "performance.getEntriesByName('first-contentful-paint').length > 0"
            )
            paint.append(page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0].startTime"
            ))
            ready.append(page.evaluate("performance.getEntriesByName('koarena-ready')[0].startTime"))
            context.close()
        browser.close()
    return statistics.median(paint), statistics.median(ready)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--skip-single", action="store_true", help="skip the one-worker build")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        wall, cpu, peak = run_report(args.data_dir, site, args.rounds, None)
        print(f"koarena report --rounds {args.rounds}: {wall:.1f} s wall, {cpu:.1f} s CPU, "
              f"peak RSS {peak:.0f} MB")
        index, shards = site_sizes(site)
        print(f"index.html + assets: {index / 1e3:.0f} kB; data shards: {shards / 1e6:.1f} MB")
        paint, ready = first_render(site, args.loads)
        print(f"index.html in headless Chromium (file://, median of {args.loads}): "
              f"first contentful paint {paint:.0f} ms, leaderboard ready {ready:.0f} ms")
        if not args.skip_single:
            wall1, cpu1, _ = run_report(args.data_dir, Path(tmp) / "site1", args.rounds, 1)
            print(f"koarena report --rounds {args.rounds} --workers 1: {wall1:.1f} s wall, "
                  f"{cpu1:.1f} s CPU")


if __name__ == "__main__":
    main()
