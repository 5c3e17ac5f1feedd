"""Self-preference: does a judge favour its own model, or its own model family?

For each judge with a family rule and each model of that family judged by this judge and by at
least one other judge: the model's win rate against the baseline under this judge minus its win
rate under the other judges (pooled), in percentage points. The win rate is the closed form of
`koarena.clusters` ((wins + ½ ties) / battles after strong-win weighting), which is also the
unregularised Bradley–Terry estimate when every battle is against the baseline. The 95% interval
resamples questions with replacement (both sides of the difference share each drawn question,
so the interval accounts for questions being easier or harder for everyone).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from koarena.battles import Battles
from koarena.errors import ConfigError
from koarena.leaderboard import DEFAULT_SEED
from koarena.rating import FloatArray


@dataclass(frozen=True)
class FamilyRule:
    """Judges matching ``judge`` (a glob) count models matching any of ``models`` as their own."""

    judge: str
    models: tuple[str, ...]

    def matches_judge(self, judge: str) -> bool:
        return fnmatch.fnmatchcase(judge, self.judge)

    def matches_model(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, p) for p in self.models)


DEFAULT_SELF_PREFERENCE_ROUNDS = 1000
"""Bootstrap rounds of the self-preference intervals unless told otherwise."""

DEFAULT_FAMILIES: tuple[FamilyRule, ...] = (
    FamilyRule("gpt-4o-mini*", ("gpt-*",)),
    FamilyRule("gemini-2.0-flash*", ("gemini-*",)),
    FamilyRule("deepseek*", ("deepseek-*",)),
)
"""The judges of the published ensemble and their families."""


def parse_family(spec: str) -> FamilyRule:
    """``JUDGE_GLOB=MODEL_GLOB[,MODEL_GLOB…]``, e.g. ``gpt-4o-mini*=gpt-*,o1-*``.

    >>> parse_family("gpt-4o-mini*=gpt-*,o1-*")
    FamilyRule(judge='gpt-4o-mini*', models=('gpt-*', 'o1-*'))
    """
    judge, sep, models = spec.partition("=")
    pats = tuple(p.strip() for p in models.split(",") if p.strip())
    if not sep or not judge.strip() or not pats:
        raise ConfigError(f"family rule {spec!r}: expected JUDGE_GLOB=MODEL_GLOB[,MODEL_GLOB...]")
    return FamilyRule(judge.strip(), pats)


@dataclass(frozen=True)
class SelfPreference:
    """A judge's preference for one model of its family, in percentage points."""

    judge: str
    model: str
    other_judges: list[str]
    questions: int
    win_rate_self: float
    win_rate_others: float
    difference: float
    lower: float
    upper: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _per_question(
    battles: Battles, model: str, questions: Mapping[str, int]
) -> tuple[FloatArray, FloatArray]:
    """(wins + ½ ties, battles) of ``model`` per question, indexed by ``questions``."""
    points = np.zeros(len(questions))
    total = np.zeros(len(questions))
    if model not in battles.models:
        return points, total
    rows = battles.b == battles.model_index(model)
    qidx = np.array([questions[battles.questions[q]] for q in battles.q[rows]], dtype=np.int64)
    np.add.at(points, qidx, battles.n_b[rows] + 0.5 * battles.n_tie[rows])
    np.add.at(total, qidx, (battles.n_a + battles.n_b + battles.n_tie)[rows])
    return points, total


def model_self_preference(
    judge: str,
    model: str,
    battles_by_judge: Mapping[str, Battles],
    *,
    rounds: int = DEFAULT_SELF_PREFERENCE_ROUNDS,
    seed: int = DEFAULT_SEED,
) -> SelfPreference | None:
    """Self-preference of ``judge`` for ``model``; None if either side has no battles."""
    others = [j for j in sorted(battles_by_judge) if j != judge]
    qids = sorted(
        {battles_by_judge[j].questions[q] for j in [judge, *others] for q in battles_by_judge[j].q}
    )
    index = {q: i for i, q in enumerate(qids)}
    own_p, own_t = _per_question(battles_by_judge[judge], model, index)
    oth_p = np.zeros(len(qids))
    oth_t = np.zeros(len(qids))
    used: list[str] = []
    for j in others:
        p, t = _per_question(battles_by_judge[j], model, index)
        if t.sum() > 0:
            used.append(j)
        oth_p += p
        oth_t += t
    if own_t.sum() == 0 or oth_t.sum() == 0:
        return None
    # Only questions both sides judged, so that the difference compares like with like.
    keep = (own_t > 0) & (oth_t > 0)
    own_p, own_t, oth_p, oth_t = own_p[keep], own_t[keep], oth_p[keep], oth_t[keep]
    n = int(keep.sum())
    if n == 0:
        return None
    diff = 100.0 * (own_p.sum() / own_t.sum() - oth_p.sum() / oth_t.sum())
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(rounds, n))
    boot = 100.0 * (
        own_p[picks].sum(1) / own_t[picks].sum(1) - oth_p[picks].sum(1) / oth_t[picks].sum(1)
    )
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return SelfPreference(
        judge=judge,
        model=model,
        other_judges=used,
        questions=n,
        win_rate_self=float(100.0 * own_p.sum() / own_t.sum()),
        win_rate_others=float(100.0 * oth_p.sum() / oth_t.sum()),
        difference=float(diff),
        lower=float(lo),
        upper=float(hi),
    )


def self_preference(
    battles_by_judge: Mapping[str, Battles],
    rules: Sequence[FamilyRule] = DEFAULT_FAMILIES,
    *,
    rounds: int = DEFAULT_SELF_PREFERENCE_ROUNDS,
    seed: int = DEFAULT_SEED,
) -> list[SelfPreference]:
    """Self-preference of every judge that has a family rule, for each model of its family."""
    out: list[SelfPreference] = []
    for judge in sorted(battles_by_judge):
        own_rules = [r for r in rules if r.matches_judge(judge)]
        if not own_rules:
            continue
        models = sorted(
            m
            for m in battles_by_judge[judge].models[1:]
            if any(r.matches_model(m) for r in own_rules)
        )
        for model in models:
            sp = model_self_preference(judge, model, battles_by_judge, rounds=rounds, seed=seed)
            if sp is not None:
                out.append(sp)
    return out
