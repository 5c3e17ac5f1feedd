"""How far the original tool's optimiser, and the published tables, are from the exact fits.

    pip install scikit-learn   # only for this script
    python benchmarks/compare_original_fit.py [--data-dir ../shared/data]

For style, length and markdown control it fits the published objective twice on the same
design: with koarena's Newton solver (to convergence) and with scikit-learn's
LogisticRegression at its defaults (lbfgs, tol 1e-4, max_iter 100), which is what the original
tool calls, on the original's duplicated battle rows. It prints the largest differences, and
the largest differences between koarena and the published 2025-04-23 tables
(tests/data/published_2025-04-23_*.csv), and the time of one fit each way (the original
refits like this once per bootstrap round).
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from koarena.battles import Battles
from koarena.bench import Bench
from koarena.controls import Control, style_covariates, style_metas
from koarena.leaderboard import load_battles
from koarena.rating import (
    LN10,
    Design,
    FloatArray,
    design_from_battles,
    fit_bt,
    targets,
    win_rate,
)

TEST_DATA = Path(__file__).resolve().parents[1] / "tests" / "data"


def sklearn_default_fit(design: Design, battles: Battles, z: FloatArray) -> FloatArray:
    """Win rates from sklearn's defaults on the expanded, duplicated battle rows."""
    cnt = battles.n_a + battles.n_b + battles.n_tie
    idx = np.repeat(np.arange(design.n_rows), cnt)
    kind = np.concatenate([
        np.repeat([0, 1, 2], [a, b, t])
        for a, b, t in zip(battles.n_a, battles.n_b, battles.n_tie, strict=True)
    ])
    n, p = idx.shape[0], design.n_models
    X = np.zeros((n, p + design.k))
    X[np.arange(n), design.a[idx]] = LN10
    X[np.arange(n), design.b[idx]] = -LN10  # written over A's column for self-battles
    X[:, p:] = z[idx]
    y_first = ((kind == 0) | (kind == 2)).astype(float)  # a tie is one A win …
    y_second = (kind == 0).astype(float)  # … and one B win
    lr = LogisticRegression(fit_intercept=False)
    lr.fit(np.concatenate([X, X]), np.concatenate([y_first, y_second]))
    coef: FloatArray = np.asarray(lr.coef_[0][None, :p], dtype=np.float64)
    rates: FloatArray = win_rate(coef, 0)[0]
    return rates * 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data-dir", default=os.environ.get("KOARENA_DATA_DIR", "../shared/data"))
    args = ap.parse_args()
    data = load_battles(Bench(Path(args.data_dir)), judges=["ensemble"])
    bt = data.battles
    for control in (Control.STYLE, Control.LENGTH, Control.MARKDOWN):
        z = style_covariates(bt, style_metas(data.answers, control.features), control.features)
        d = design_from_battles(bt, z)
        s_a, s_b = targets(bt.n_a, bt.n_b, bt.n_tie)
        t = time.perf_counter()
        exact = win_rate(fit_bt(d, s_a[None], s_b[None], l2=1.0).beta, 0)[0] * 100
        t_exact = time.perf_counter() - t
        t = time.perf_counter()
        sk = sklearn_default_fit(d, bt, z)
        t_sk = time.perf_counter() - t
        print(f"{control.value}: one fit takes {t_exact:.2f} s (koarena, to convergence) vs "
              f"{t_sk:.2f} s (scikit-learn defaults on the original's dense duplicated rows)")
        diff = np.abs(exact - sk)
        worst = np.argsort(-diff)[:3]
        print(f"{control.value}: sklearn defaults vs exact optimum: max |Δ| {diff.max():.2f} "
              f"points, mean {diff.mean():.3f}; largest: "
              + ", ".join(f"{bt.models[i]} {exact[i]:.2f} vs {sk[i]:.2f}" for i in worst))
        pub_file = TEST_DATA / f"published_2025-04-23_{control.csv_name}.csv"
        if pub_file.is_file():
            with open(pub_file, encoding="utf-8") as fh:
                pub = {r["model"]: float(r["score"]) for r in csv.DictReader(fh)}
            rows = sorted(
                ((abs(round(exact[i], 2) - pub[m]), m, round(exact[i], 2), pub[m])
                 for i, m in enumerate(bt.models)), reverse=True)
            print(f"  vs published {control.csv_name}: max |Δ| {rows[0][0]:.2f}; "
                  + ", ".join(f"{m} {e} vs {p}" for _, m, e, p in rows[:6]))


if __name__ == "__main__":
    main()
