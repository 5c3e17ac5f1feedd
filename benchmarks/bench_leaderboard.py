"""Leaderboard speed: the CLI on the full shared data, and how the fit scales.

    python benchmarks/bench_leaderboard.py [--data-dir ../shared/data] [--rounds 1000]

Prints wall time and peak memory of `koarena leaderboard` (style control, and all four
controls in one run), then seconds per bootstrap round as battles (10×, 100×: the question set
replicated with fresh bootstrap noise) and models (2×, 5×: models cloned) grow. Timings are for
reading, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from koarena.battles import Battles
from koarena.bench import Bench
from koarena.controls import Control, style_covariates, style_metas
from koarena.leaderboard import LoadedData, fit_control, load_battles


def run_cli(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `koarena` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "koarena", *args], check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def scaled(data: LoadedData, battles_x: int, models_x: int) -> LoadedData:
    """The data with its questions replicated ``battles_x`` times and its non-baseline models
    cloned ``models_x`` times (clones keep their answers, so style covariates stay real)."""
    b = data.battles
    rng = np.random.default_rng(0)
    reps_a, reps_b, reps_q, na, nb, nt = [], [], [], [], [], []
    models = list(b.models)
    answers = dict(data.answers)
    for mx in range(models_x):
        offset = 0 if mx == 0 else len(models) - 1
        if mx:
            for name in b.models[1:]:
                clone = f"{name}#{mx}"
                models.append(clone)
                answers[clone] = data.answers.get(name, {})
        for bx in range(battles_x):
            reps_a.append(b.a)
            reps_b.append(np.where(b.b == 0, 0, b.b + (offset if mx else 0)))
            reps_q.append(b.q + bx * len(b.questions))
            if bx == 0 and mx == 0:
                na.append(b.n_a)
                nb.append(b.n_b)
                nt.append(b.n_tie)
            else:
                tot = b.n_a + b.n_b + b.n_tie
                p = np.stack([b.n_a + 0.5, b.n_b + 0.5, b.n_tie + 0.5], 1)
                p /= p.sum(1, keepdims=True)
                draw = np.array([rng.multinomial(n, pp) for n, pp in zip(tot, p, strict=True)])
                na.append(draw[:, 0])
                nb.append(draw[:, 1])
                nt.append(draw[:, 2])
    questions = [f"{q}#{bx}" for bx in range(battles_x) for q in b.questions]
    for m, by_q in list(answers.items()):
        answers[m] = {f"{q}#{bx}": a for bx in range(battles_x) for q, a in by_q.items()}
    new = Battles(
        models=models, questions=questions, baseline=b.baseline,
        a=np.concatenate(reps_a), b=np.concatenate(reps_b), q=np.concatenate(reps_q),
        n_a=np.concatenate(na), n_b=np.concatenate(nb), n_tie=np.concatenate(nt),
    )
    return LoadedData(battles=new, answers=answers, baseline=data.baseline, judges=data.judges)


def per_round(data: LoadedData, control: Control, rounds: int) -> tuple[float, float]:
    """(seconds per bootstrap round, seconds for the point fit incl. covariates).

    Rounds are timed between the first and the last completed batch, so that the point fit's
    own variation does not leak into the per-round figure.
    """
    t = time.perf_counter()
    fit_control(data, control, rounds=0, seed=1)
    point = time.perf_counter() - t
    marks: list[tuple[int, float]] = []
    fit_control(data, control, rounds=rounds, seed=1,
                progress=lambda done, _total: marks.append((done, time.perf_counter())))
    (d0, t0), (d1, t1) = marks[0], marks[-1]
    if d1 == d0:
        raise SystemExit(f"{rounds} rounds fit in one batch; use more --scale-rounds")
    return (t1 - t0) / (d1 - d0), point


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default=os.environ.get("KOARENA_DATA_DIR", "../shared/data"))
    ap.add_argument("--rounds", type=int, default=1000)
    ap.add_argument("--scale-rounds", type=int, default=200,
                    help="bootstrap rounds per scaling case at ×1 (fewer as rows grow)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}; "
          f"load average {os.getloadavg()[0]:.1f}")
    base = ["leaderboard", "--data-dir", args.data_dir, "--rounds", str(args.rounds)]
    for label, extra in (("style", ["--control", "style"]), ("all four", ["--control", "all"])):
        wall, peak = run_cli(base + extra)
        print(f"koarena leaderboard --control {extra[1]} --rounds {args.rounds}: "
              f"{wall:.1f} s wall, peak RSS {peak:.0f} MB  [{label}]")
    data = load_battles(Bench(Path(args.data_dir)), judges=["ensemble"])
    print("\nscaling, style control (time per bootstrap round; point fit incl. covariates)")
    for bx, mx in ((1, 1), (10, 1), (100, 1), (1, 2), (1, 5)):
        d = scaled(data, bx, mx)
        # enough rounds that the bootstrap dominates the timing noise of the point fit
        rounds = max(5, args.scale_rounds // (bx * mx))
        # covariates are computed once per fit_control call; include them in 'point'
        style_covariates(d.battles, style_metas(d.answers, Control.STYLE.features),
                         Control.STYLE.features)
        spr, point = per_round(d, Control.STYLE, rounds)
        print(f"  battles ×{bx:<3} models ×{mx}: {d.battles.n_battles:>10,} battles, "
              f"{len(d.battles.models):>4} models, {d.battles.a.shape[0]:>9,} rows: "
              f"{spr * 1000:8.1f} ms/round ({rounds} rounds), point fit {point:6.2f} s")


if __name__ == "__main__":
    main()
