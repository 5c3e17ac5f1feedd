"""Report speed: cold build, rebuild after one new model, unchanged rebuild; what a view downloads.

    .venv/bin/python benchmarks/bench_report.py [--data-dir ../shared/data] [--rounds 100]
                                                [--repeat 3] [--new-model gpt-4o-mini]

Works on a copy of the bench made of symbolic links to the shared files (the shared data stays
read-only), so that one model's answer and judgment files can be taken out and put back:

1. cold: `koarena report` of the full bench into a new directory (no build cache);
2. then, ``--repeat`` times: the bench without ``--new-model`` (its shards leave the cache),
   the bench with it again (*one new model*: only its answers and judgments are rendered), and
   the same once more (*unchanged*).

Prints wall and CPU seconds (all processes; the number to compare on a shared machine) and the
load average before each run; then the site's sizes, what the browser downloads to show one
question with one model's answer (smallest, median, largest), and the first render of
index.html in headless Chromium from file://. Timings are for reading, never asserted.
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

import orjson
from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
BENCH = "ko-arena-hard-v0.1"
# The full browser where it is installed (the numbers in docs/benchmarks.md were taken with it),
# else the headless shell that ./scripts/test.sh installs for the browser tests.
CHROMIUMS = (Path("/usr/bin/chromium"), Path("/usr/bin/chromium-headless-shell"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def run_report(data_dir: Path, out: Path, rounds: int) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (all processes) and the last log line of one `koarena report`."""
    cmd = [sys.executable, "-m", "koarena", "report", "--data-dir", str(data_dir),
           "--output", str(out), "--rounds", str(rounds)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    last = (done.stderr.strip().splitlines() or [""])[-1]
    return wall, cpu, last


def linked_bench(shared: Path, root: Path) -> Path:
    """``root/<bench>`` with the shared bench's files as symbolic links; returns the data dir."""
    src = shared / BENCH
    if not src.is_dir():
        sys.exit(f"{src} not found: pass --data-dir")
    dst = root / BENCH
    for path in src.rglob("*"):
        if path.is_file():
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return root


def model_files(data_dir: Path, model: str) -> list[Path]:
    bench = data_dir / BENCH
    return [bench / "model_answer" / f"{model}.jsonl",
            *sorted(bench.glob(f"model_judgment/*/{model}.jsonl"))]


def view_sizes(site: Path) -> tuple[int, int, int]:
    """(min, median, max) bytes of one question + the baseline's answer + one model's answer."""
    text = (site / "data" / "index.js").read_text("utf-8")
    index = orjson.loads(text[text.index(",") + 1: text.rindex(")")])
    keys = index["model_keys"]
    sizes = []
    for q in index["questions"]:
        own = (site / "data" / "q" / f"{q['key']}.js").stat().st_size
        base = site / "data" / "a" / keys[index["baseline"]] / f"{q['key']}.js"
        own += base.stat().st_size if base.is_file() else 0
        for m in index["models"]:
            a = site / "data" / "a" / keys[m] / f"{q['key']}.js"
            sizes.append(own + (a.stat().st_size if a.is_file() else 0))
    sizes.sort()
    return sizes[0], int(statistics.median(sizes)), sizes[-1]


def site_sizes(site: Path) -> tuple[int, int, int]:
    html = (site / "index.html").read_text("utf-8")
    loads = set(re.findall(r'(?:src|href)="(assets/[^"]+)"', html))  # what the index loads
    index = len(html.encode("utf-8")) + sum((site / a).stat().st_size for a in loads)
    files = [p for p in (site / "data").rglob("*.js")]
    return index, sum(p.stat().st_size for p in files), len(files)


def first_render(site: Path, loads: int, chromium: Path) -> tuple[float, float]:
    """Median ms to first contentful paint and to the page's ready mark, fresh page each."""
    paint: list[float] = []
    ready: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
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


def report(label: str, data_dir: Path, site: Path, rounds: int) -> None:
    load = os.getloadavg()[0]
    wall, cpu, last = run_report(data_dir, site, rounds)
    tail = re.search(r"; ([^;]*)$", last)
    print(f"{label:<28} load {load:4.1f}: {wall:6.1f} s wall, {cpu:6.1f} s CPU"
          f"  ({tail.group(1) if tail else last})", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--new-model", default="gpt-4o-mini")
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--skip-browser", action="store_true", help="no first render in Chromium")
    ap.add_argument("--chromium", type=Path,
                    default=next((c for c in CHROMIUMS if c.is_file()), CHROMIUMS[0]),
                    help="the browser for the first render (default here: %(default)s, the "
                         "first found of " + ", ".join(map(str, CHROMIUMS)) + ")")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; --rounds {args.rounds}")
    with tempfile.TemporaryDirectory() as tmp:
        data = linked_bench(args.data_dir.resolve(), Path(tmp) / "data")
        site = Path(tmp) / "site"
        report("cold (no cache)", data, site, args.rounds)
        index, shards, count = site_sizes(site)
        low, median, high = view_sizes(site)
        print(f"index.html + assets: {index / 1e3:.0f} kB; data shards: {shards / 1e6:.1f} MB "
              f"in {count} files; one question with one model's answer: {median / 1e3:.1f} kB "
              f"median ({low / 1e3:.1f}-{high / 1e3:.1f} kB)")
        if not args.skip_browser:
            paint, ready = first_render(site, args.loads, args.chromium)
            print(f"index.html in {args.chromium} (file://, median of {args.loads}): "
                  f"first contentful paint {paint:.0f} ms, leaderboard ready {ready:.0f} ms")
        moved = Path(tmp) / "moved"
        for _ in range(args.repeat):
            moved.mkdir()
            files = model_files(data, args.new_model)
            for i, f in enumerate(files):
                f.rename(moved / str(i))
            report(f"without {args.new_model}", data, site, args.rounds)
            for i, f in enumerate(files):
                (moved / str(i)).rename(f)
            moved.rmdir()
            report("one new model", data, site, args.rounds)
            report("unchanged", data, site, args.rounds)


if __name__ == "__main__":
    main()
