"""Combine several judges' verdicts into one, with the published rule.

Per game: map ``A>>B, A>B, A=B, B>A, B>>A`` to ``+2, +1, 0, −1, −2``, average over the judges
that gave a valid label, and map back: 0 → ``A=B``, (0, 1] → ``A>B``, > 1 → ``A>>B``,
[−1, 0) → ``B>A``, < −1 → ``B>>A`` (`koarena.verdicts.combine_game`). A game that no judge
labelled is dropped and counted (the original divided by zero).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from koarena.bench import Bench
from koarena.errors import DataError
from koarena.jsonl import write_jsonl_atomic
from koarena.records import Game, Judgment
from koarena.verdicts import combine_game

log = logging.getLogger(__name__)

ENSEMBLE_JUDGE = "ensemble"

@dataclass
class EnsembleSummary:
    models: int = 0
    judgments: int = 0
    dropped_games: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # judge → judgments it lacks


def ensemble_model(per_judge: dict[str, list[Judgment]], model: str) -> tuple[list[Judgment], int]:
    """Ensemble judgments of one model; returns (judgments, games dropped).

    Questions are taken in the order of the first judge; a question some judge lacks is
    combined from the judges that have it.
    """
    by_judge = {j: {x.question_id: x for x in js} for j, js in per_judge.items()}
    order: list[str] = []
    seen: set[str] = set()
    for js in per_judge.values():
        for x in js:
            if x.question_id not in seen:
                seen.add(x.question_id)
                order.append(x.question_id)
    out: list[Judgment] = []
    dropped = 0
    for qid in order:
        present = [d[qid] for d in by_judge.values() if qid in d]
        n_games = max(len(x.games) for x in present)
        games: list[Game | None] = []
        for gi in range(n_games):
            label = combine_game([x.label(gi) for x in present])
            if label is None:
                dropped += 1
            games.append(Game(score=label))
        out.append(Judgment(question_id=qid, model=model, judge=ENSEMBLE_JUDGE, games=games))
    return out, dropped


def write_ensemble(
    bench: Bench, judges: Sequence[str], models: Sequence[str] | None = None
) -> EnsembleSummary:
    """Write ``model_judgment/ensemble/<model>.jsonl`` from the given judges' files.

    Models default to those every judge has judged. Every input is loaded and checked before
    any output is written, so a bad file leaves all ensemble files as they were; each file is
    then replaced atomically.
    """
    if len(judges) < 1:
        raise DataError("ensemble needs at least one judge")
    if ENSEMBLE_JUDGE in judges:
        raise DataError("the ensemble cannot be built from itself")
    judged = {j: set(bench.judged_models(j)) for j in judges}
    if models is None:
        common = set.intersection(*judged.values())
        models = sorted(common)
    summary = EnsembleSummary()
    results: dict[str, list[Judgment]] = {}
    for model in models:
        per_judge: dict[str, list[Judgment]] = {}
        for j in judges:
            if model not in judged[j]:
                raise DataError(f"judge {j!r} has no judgments of model {model!r}")
            per_judge[j] = bench.load_judgments(j, model)
        result, dropped = ensemble_model(per_judge, model)
        ids = {x.question_id for x in result}
        for j, js in per_judge.items():
            lacking = len(ids - {x.question_id for x in js})
            if lacking:
                summary.missing[j] = summary.missing.get(j, 0) + lacking
        results[model] = result
        summary.models += 1
        summary.judgments += len(result)
        summary.dropped_games += dropped
    for model, result in results.items():
        write_jsonl_atomic(bench.judgment_file(ENSEMBLE_JUDGE, model),
                           (x.to_dict() for x in result))
    return summary
