"""Agreement between two judges over the games both labelled.

Games are matched by (model, question, game index), so both judges saw the same two answers in
the same positions. Exact agreement compares the five labels; winner agreement ignores the
strength (``A>>B`` and ``A>B`` agree). Cohen's kappa corrects each for chance agreement given
the judges' own label frequencies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from koarena.analysis.verdicts import JudgeLabels
from koarena.verdicts import VERDICTS


def cohen_kappa(x: Sequence[str], y: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels of the same items; None when chance agreement is 1.

    >>> cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    0.5
    """
    if len(x) != len(y):
        raise ValueError("both raters must label the same items")
    n = len(x)
    if n == 0:
        return None
    observed = sum(1 for a, b in zip(x, y, strict=True) if a == b) / n
    cx, cy = Counter(x), Counter(y)
    expected = sum(cx[k] * cy[k] for k in cx) / (n * n)
    if expected == 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


@dataclass(frozen=True)
class AgreementStats:
    """Agreement of two judges over the games both labelled."""

    judge_a: str
    judge_b: str
    games: int
    exact: float | None
    winner: float | None
    kappa: float | None
    winner_kappa: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def judge_agreement(a: JudgeLabels, b: JudgeLabels) -> AgreementStats:
    """Exact and winner-only agreement and their kappas between judges ``a`` and ``b``."""
    xa: list[str] = []
    xb: list[str] = []
    for key in sorted(a.games.keys() & b.games.keys()):
        for la, lb in zip(a.games[key], b.games[key], strict=True):
            if la is not None and lb is not None:
                xa.append(la)
                xb.append(lb)
    wa = [VERDICTS[v][0].value for v in xa]
    wb = [VERDICTS[v][0].value for v in xb]
    n = len(xa)
    return AgreementStats(
        judge_a=a.judge,
        judge_b=b.judge,
        games=n,
        exact=sum(1 for p, q in zip(xa, xb, strict=True) if p == q) / n if n else None,
        winner=sum(1 for p, q in zip(wa, wb, strict=True) if p == q) / n if n else None,
        kappa=cohen_kappa(xa, xb),
        winner_kappa=cohen_kappa(wa, wb),
    )
