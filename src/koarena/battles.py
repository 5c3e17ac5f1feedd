"""Judgments → battles.

Each game's label is read with `koarena.verdicts.game_outcome` (game 2 mirrored); a strong
win (``>>``) counts ``weight`` times, as in the original tool. Battles are kept aggregated: one
row per judgment (model, question), with the number of baseline wins, model wins and ties it
contributes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from koarena.records import Judgment
from koarena.verdicts import DEFAULT_WEIGHT, V2_SPELLINGS, Winner, game_outcome

IntArray = npt.NDArray[np.int64]


@dataclass
class Battles:
    """Aggregated battles: row ``r`` is one judgment of model ``b[r]`` against ``a[r]``.

    ``n_a``, ``n_b``, ``n_tie`` count the battles (after weighting) that row contributes, won by
    A (the baseline), by B (the model), or tied.
    """

    models: list[str]
    questions: list[str]
    baseline: str
    a: IntArray
    b: IntArray
    q: IntArray
    n_a: IntArray
    n_b: IntArray
    n_tie: IntArray
    dropped: Counter[str] = field(default_factory=Counter)
    judges: list[str] = field(default_factory=list)
    lone_games: int = 0
    """Judgments that had a single game (read twice when ``reuse_lone_game``)."""
    weight: int = DEFAULT_WEIGHT
    """How many battles a strong win (``>>``) counted as when these were built."""

    @property
    def n_battles(self) -> int:
        return int(self.n_a.sum() + self.n_b.sum() + self.n_tie.sum())

    def model_index(self, name: str) -> int:
        return self.models.index(name)


def build_battles(
    judgments: Iterable[Judgment],
    baseline: str,
    *,
    weight: int = DEFAULT_WEIGHT,
    first_game_only: bool = False,
    reuse_lone_game: bool = True,
    judges: list[str] | None = None,
    v2_rules: bool = False,
) -> Battles:
    """Turn judgments (of any number of judges) into aggregated battles against ``baseline``.

    A judgment with only one game: the original tool reads game 1's label a second time as
    game 2 (mirrored), which turns a win into a win plus a loss. ``reuse_lone_game`` keeps that
    behaviour, as the published leaderboard has it; without it the missing game is dropped and
    counted.

    ``v2_rules`` reads judgments as Arena-Hard v2.0's ``show_result.py`` does: the reversed
    spellings of `koarena.verdicts.V2_SPELLINGS` count, and a judgment counts only when both
    games have a known verdict (otherwise both games are dropped and counted; no lone game is
    reused).
    """
    if weight < 1:
        raise ValueError("weight must be at least 1")
    model_idx: dict[str, int] = {baseline: 0}
    q_idx: dict[str, int] = {}
    a: list[int] = []
    b: list[int] = []
    q: list[int] = []
    na: list[int] = []
    nb: list[int] = []
    nt: list[int] = []
    dropped: Counter[str] = Counter()
    n_games = 1 if first_game_only else 2
    lone = 0
    for j in judgments:
        lone += len(j.games) == 1
        counts = {Winner.A: 0, Winner.B: 0, Winner.TIE: 0}
        lone_reused = reuse_lone_game and not v2_rules and len(j.games) == 1
        missing = 0
        for gi in range(n_games):
            label = j.label(0 if lone_reused else gi)
            if v2_rules and label is not None:
                label = V2_SPELLINGS.get(label, label)
            outcome = game_outcome(label, gi)
            if outcome is None:
                missing += 1
                continue
            winner, strong = outcome
            counts[winner] += weight if strong else 1
        if v2_rules and missing:
            dropped[j.model] += n_games
            continue
        if missing:
            dropped[j.model] += missing
        if not any(counts.values()):
            continue
        mi = model_idx.setdefault(j.model, len(model_idx))
        qi = q_idx.setdefault(j.question_id, len(q_idx))
        a.append(0)
        b.append(mi)
        q.append(qi)
        na.append(counts[Winner.A])
        nb.append(counts[Winner.B])
        nt.append(counts[Winner.TIE])
    return Battles(
        models=list(model_idx),
        questions=list(q_idx),
        baseline=baseline,
        a=np.asarray(a, dtype=np.int64),
        b=np.asarray(b, dtype=np.int64),
        q=np.asarray(q, dtype=np.int64),
        n_a=np.asarray(na, dtype=np.int64),
        n_b=np.asarray(nb, dtype=np.int64),
        n_tie=np.asarray(nt, dtype=np.int64),
        dropped=dropped,
        judges=list(judges or []),
        lone_games=lone,
        weight=weight,
    )
