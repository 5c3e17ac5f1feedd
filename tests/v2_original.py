"""Arena-Hard v2.0's ``show_result.py`` definitions, written out independently of koarena.

Read from lmarena/arena-hard-auto (commit 196f6b8, ``show_result.py`` and
``utils/math_utils.py``) and restated with the standard library and scipy, so that tests can
check koarena's category leaderboards against them on the same judgments.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

WEIGHT = 3
LABEL_TO_SCORE: dict[str, list[float]] = {
    "A>B": [1], "A>>B": [1] * WEIGHT, "A=B": [0.5], "A<<B": [0] * WEIGHT, "A<B": [0],
    "B>A": [0], "B>>A": [0] * WEIGHT, "B=A": [0.5], "B<<A": [1] * WEIGHT, "B<A": [1],
}


def exploded(judgments: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, float]]:
    """(uid, model, score) rows: a judgment with a null game or score is left out; game 2's
    label scores the model directly, game 1's is reversed (the model is B there)."""
    rows: list[tuple[str, str, float]] = []
    for j in judgments:
        g = j["games"]
        if g[0] is None or g[1] is None or g[0]["score"] is None or g[1]["score"] is None:
            continue
        scores = LABEL_TO_SCORE[g[1]["score"]] + [1 - s for s in LABEL_TO_SCORE[g[0]["score"]]]
        rows.extend((j["uid"], j["model"], float(s)) for s in scores)
    return rows


def mean_scores(rows: list[tuple[str, str, float]]) -> dict[str, float]:
    """The expected value of the original's score: each model's mean of its rows (it prints
    the mean of 100 bootstrap means of these rows)."""
    by_model: dict[str, list[float]] = defaultdict(list)
    for _, model, s in rows:
        by_model[model].append(s)
    return {m: sum(v) / len(v) for m, v in by_model.items()}


def _meta_vector(meta: Mapping[str, Any]) -> list[float]:
    return [float(v if isinstance(v, int) else sum(v.values())) for v in meta.values()]


def style_win_rates(
    rows: list[tuple[str, str, float]],
    metadata: Mapping[str, Mapping[str, Mapping[str, Any]]],
    baseline: str,
) -> dict[str, float]:
    """``print_leaderboard_with_style_features`` with length and markdown, fitted on all rows
    to the optimum (the original runs 50 L-BFGS steps per bootstrap round and prints medians)."""
    # imported here: scipy.optimize takes 0.6 s to import, at every xdist worker's collection
    from scipy.optimize import minimize

    m = np.array([_meta_vector(metadata[model][uid]) for uid, model, _ in rows])
    b = np.array([_meta_vector(metadata[baseline][uid]) for uid, _, _ in rows])
    f = np.zeros_like(m)
    f[:, 0] = (m[:, 0] - b[:, 0]) / (m[:, 0] + b[:, 0])
    md, bd = m[:, 1:] / (m[:, :1] + 1), b[:, 1:] / (b[:, :1] + 1)
    f[:, 1:] = (md - bd) / (md + bd + 1)
    f = (f - f.mean(axis=0)) / f.std(axis=0, ddof=1)
    models = sorted({model for _, model, _ in rows} | {baseline})
    onehot = np.zeros((len(rows), len(models)))
    for r, (_, model, _) in enumerate(rows):
        onehot[r, models.index(model)] = 1
        onehot[r, models.index(baseline)] = -1
    x = np.concatenate([onehot, f], axis=1)
    y = np.array([s for _, _, s in rows])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta
        value = float(np.sum(np.logaddexp(0, z) - y * z))
        grad = x.T @ (1 / (1 + np.exp(-z)) - y)
        return value, grad

    res = minimize(loss, np.full(x.shape[1], 0.5), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
    coefs = res.x[: len(models)]
    base = coefs[models.index(baseline)]
    return {
        model: 1 / (1 + math.exp(base - coefs[i]))
        for i, model in enumerate(models)
        if model != baseline
    }
