"""How well a leaderboard separates models, and how well it agrees with a reference ranking.

Definitions of Li et al. 2024, "From Crowdsourced Data to High-Quality Benchmarks: Arena-Hard
and BenchBuilder Pipeline" (§3), and the Arena-Hard blog post of 2024-04-19:

- Separability with confidence: the share of model pairs whose 95% confidence intervals do not
  overlap.
- Agreement with confidence: over the model pairs the reference separates with confidence,
  +1 if the benchmark also separates the pair with confidence in the same order, −1 if it
  separates it in the opposite order, 0 if it cannot separate it; averaged. A reference
  given as plain scores (no interval) separates every pair whose scores differ.
- Spearman and Kendall (τ-b) rank correlation of the benchmark's scores with the reference
  scores (scipy).
- Brier score: for each pair the reference orders, the benchmark's Bradley–Terry probability
  that the reference's better model wins, 1 / (1 + 10^((R_worse − R_better)/400)) from its
  ratings, scored against the outcome 1: mean((1 − p)²). 0 is perfect, 0.25 is a coin flip. The
  outcome is the reference's order and not a probability from its scores, because a reference
  leaderboard's scores may be on any scale (Elo, win rate, votes).
- Pair rank Brier score: the same with the benchmark's probability that the better model
  *ranks* above the other (the share of bootstrap rounds in which its score is higher, ties
  counting half): how sure the benchmark is of the order rather than of a single battle.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from koarena.errors import DataError
from koarena.rating import FloatArray


@dataclass(frozen=True)
class Scored:
    """A model's score and, if known, its 95% interval."""

    score: float
    lower: float | None = None
    upper: float | None = None


def _separated(a: Scored, b: Scored) -> int:
    """+1 if ``a`` is confidently above ``b``, −1 if confidently below, 0 if not separated.

    Without intervals, any difference of scores separates.
    """
    if a.lower is None or a.upper is None or b.lower is None or b.upper is None:
        return int(np.sign(a.score - b.score))
    if a.lower > b.upper:
        return 1
    if b.lower > a.upper:
        return -1
    return 0


def separability(scores: Mapping[str, Scored]) -> tuple[int, int]:
    """(pairs, pairs with non-overlapping intervals) over all pairs of ``scores``."""
    pairs = list(combinations(sorted(scores), 2))
    return len(pairs), sum(1 for a, b in pairs if _separated(scores[a], scores[b]) != 0)


def agreement_with_confidence(
    bench: Mapping[str, Scored], reference: Mapping[str, Scored]
) -> tuple[float | None, int]:
    """(agreement, number of pairs the reference separates) over the models both rank."""
    common = sorted(bench.keys() & reference.keys())
    total = 0
    count = 0
    for a, b in combinations(common, 2):
        ref = _separated(reference[a], reference[b])
        if ref == 0:
            continue
        count += 1
        total += ref * _separated(bench[a], bench[b])
    return (total / count if count else None), count


def _correlation(kind: str, x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) != len(y):
        raise ValueError("x and y must have the same length")
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    # Imported here: scipy.stats takes half a second to import, which every koarena command
    # would pay (the CLI imports this module to register `analyze`).
    from scipy.stats import kendalltau, spearmanr

    stat = spearmanr(x, y).statistic if kind == "spearman" else kendalltau(x, y).statistic
    return round(float(stat), 12)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (ties share their average rank); None if undefined.

    >>> spearman([1, 2, 3, 4], [10, 30, 20, 40])
    0.8
    """
    return _correlation("spearman", x, y)


def kendall(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's τ-b; None if undefined.

    >>> round(kendall([1, 2, 3, 4], [10, 30, 20, 40]), 6)
    0.666667
    """
    return _correlation("kendall", x, y)


def win_probability_brier(
    ratings: Mapping[str, float], reference: Mapping[str, Scored]
) -> tuple[float | None, int]:
    """(Brier score, pairs) of the Bradley–Terry win probabilities from Elo-scale ``ratings``
    against the reference's order; pairs the reference scores equally are left out."""
    errors = [
        (1.0 - 1.0 / (1.0 + 10.0 ** ((ratings[lo] - ratings[hi]) / 400.0))) ** 2
        for hi, lo in _reference_ordered(ratings.keys(), reference)
    ]
    return (float(np.mean(errors)) if errors else None), len(errors)


def _reference_ordered(
    models: Iterable[str], reference: Mapping[str, Scored]
) -> Iterator[tuple[str, str]]:
    """(better, worse) by the reference, for the pairs of ``models`` it scores differently."""
    for a, b in combinations(sorted(set(models) & reference.keys()), 2):
        d = reference[a].score - reference[b].score
        if d != 0:
            yield (a, b) if d > 0 else (b, a)


def pair_rank_brier(
    boot: Mapping[str, FloatArray], reference: Mapping[str, Scored]
) -> tuple[float | None, int]:
    """(Brier score, pairs) of the bootstrap's pairwise ranking probabilities.

    ``boot`` holds each model's score in every bootstrap round (same rounds for all models).
    Pairs the reference scores equally are left out.
    """
    errors = [
        (1.0 - float(np.mean(boot[hi] > boot[lo]) + 0.5 * np.mean(boot[hi] == boot[lo]))) ** 2
        for hi, lo in _reference_ordered(boot.keys(), reference)
    ]
    return (float(np.mean(errors)) if errors else None), len(errors)


def read_reference(path: Path) -> dict[str, Scored]:
    """A reference leaderboard CSV: header with ``model`` and ``score``, optionally ``lower``
    and ``upper`` (a 95% interval); other columns are ignored."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            fields = set(reader.fieldnames or [])
            if not {"model", "score"} <= fields:
                raise DataError(f"{path}: the reference CSV needs the columns model and score")
            has_ci = {"lower", "upper"} <= fields
            out: dict[str, Scored] = {}
            for lineno, row in enumerate(reader, start=2):
                try:
                    out[row["model"].strip()] = Scored(
                        float(row["score"]),
                        float(row["lower"]) if has_ci and row["lower"] else None,
                        float(row["upper"]) if has_ci and row["upper"] else None,
                    )
                except ValueError as exc:
                    raise DataError(f"{path}:{lineno}: not a number ({exc})") from exc
    except FileNotFoundError as exc:
        raise DataError(f"{path}: reference file not found") from exc
    return out


def reference_metrics(
    bench: Mapping[str, Scored],
    boot: Mapping[str, FloatArray] | None,
    reference: Mapping[str, Scored],
    ratings: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Agreement with confidence, Spearman and Kendall correlation, the Brier score of the
    win probabilities (from ``ratings``) and the pair rank Brier score (from ``boot``), on the
    models both leaderboards have."""
    common = sorted(bench.keys() & reference.keys())
    agreement, ref_pairs = agreement_with_confidence(bench, reference)
    brier, brier_pairs = (
        win_probability_brier(ratings, reference) if ratings is not None else (None, 0)
    )
    rank_brier, rank_pairs = pair_rank_brier(boot, reference) if boot is not None else (None, 0)
    bench_scores = [bench[m].score for m in common]
    reference_scores = [reference[m].score for m in common]
    return {
        "models": len(common),
        "missing_from_reference": sorted(bench.keys() - reference.keys()),
        "agreement_with_confidence": agreement,
        "reference_separated_pairs": ref_pairs,
        "missing_from_bench": sorted(reference.keys() - bench.keys()),
        "spearman": spearman(bench_scores, reference_scores),
        "kendall": kendall(bench_scores, reference_scores),
        "brier": brier,
        "brier_pairs": brier_pairs,
        "rank_brier": rank_brier,
        "rank_brier_pairs": rank_pairs,
    }
