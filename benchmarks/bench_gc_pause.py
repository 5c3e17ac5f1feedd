"""`koarena leaderboard` on the shared data with and without the collector paused while loading.

    .venv/bin/python benchmarks/bench_gc_pause.py [--data-dir ../shared/data] [--pairs 3]

Each run is a new process (so that nothing loaded by one run helps the next), the two kinds
alternating; each prints its process CPU seconds. ``without`` replaces
`koarena.leaderboard.gc_paused` by a context that does nothing. Read, never asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import contextlib, io, sys, time
import koarena.leaderboard
from koarena.cli import main
if sys.argv[1] == "without":
    koarena.leaderboard.gc_paused = contextlib.nullcontext
t = time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["leaderboard", "--data-dir", sys.argv[2]])
print(f"{sys.argv[1]:<8} {time.process_time() - t:6.2f} s CPU (exit {code})")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--pairs", type=int, default=3)
    args = ap.parse_args()
    for _ in range(args.pairs):
        for kind in ("without", "paused"):
            subprocess.run([sys.executable, "-c", CHILD, kind, str(args.data_dir)], check=True,
                           stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
