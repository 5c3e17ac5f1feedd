"""The data of ``model.html``: one page per model, picked by ``?model=``, linked from the table.

For each judged model: its score under every control of every judge, the Korean fidelity of its
answers (with the questions it did not answer in Korean, each linking into the browser), its
weakest clusters under each judge and how the judges agree on its answers. Everything here is
computed from what the build has loaded and fitted already (the Korean profiles come with the
cached answer records), so the page costs no extra pass over the data.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations
from typing import Any

from koarena.analysis.agreement import judge_agreement
from koarena.analysis.verdicts import judge_labels
from koarena.clusters import cluster_win_rates, weakest
from koarena.controls import Control
from koarena.korean import korean_fidelity
from koarena.leaderboard import Leaderboard
from koarena.records import Answer, Judgment, Question

WEAKEST = 5
NOT_KOREAN_LISTED = 50
"""At most this many questions answered not in Korean are listed by id (all are counted)."""


def model_page_data(
    boards: Mapping[str, Mapping[Control, Leaderboard]],
    judgments: Mapping[str, list[Judgment]],
    answers: Mapping[str, Mapping[str, Answer]],
    questions: list[Question],
    models: list[str],
    baseline: str,
) -> dict[str, Any]:
    """Per model of ``models``: scores, Korean fidelity, weakest clusters, judge agreement."""
    judges = list(boards)
    fidelity = {f.model: f for f in korean_fidelity(answers, baseline=baseline)}
    cluster_of = {q.question_id: q.ko_cluster or q.cluster for q in questions}
    rates = {j: cluster_win_rates(boards[j][Control.NONE].battles, cluster_of) for j in judges}
    by_model: dict[str, dict[str, list[Judgment]]] = {m: {j: [] for j in judges} for m in models}
    for judge, js in judgments.items():
        for jd in js:
            if jd.model in by_model:
                by_model[jd.model][judge].append(jd)
    out: dict[str, Any] = {}
    for m in models:
        f = fidelity.get(m)
        korean = None
        if f is not None:
            korean = {k: v for k, v in f.to_dict().items() if k != "not_korean_questions"}
            korean["not_korean_listed"] = f.not_korean_questions[:NOT_KOREAN_LISTED]
        labels = {j: judge_labels(j, by_model[m][j]) for j in judges}
        out[m] = {
            "scores": {
                j: {
                    c.value: _score(b, m) for c, b in by_c.items()
                }
                for j, by_c in boards.items()
            },
            "korean": korean,
            "weakest": {
                j: [
                    {"cluster": c, "win_rate": round(100.0 * s.win_rate, 1), "battles": s.battles}
                    for c, s in weakest(rates[j].get(m, {}), WEAKEST)
                ]
                for j in judges
            },
            "agreement": [
                judge_agreement(labels[a], labels[b]).to_dict()
                for a, b in combinations(judges, 2)
            ],
        }
    return {
        "baseline": baseline,
        "judges": judges,
        "models": models,
        "korean_baseline": None if baseline not in fidelity else fidelity[baseline].to_dict()[
            "mean_hangul_share"],
        "by_model": out,
    }


def _score(board: Leaderboard, model: str) -> dict[str, Any] | None:
    for rank, r in enumerate(board.rows, 1):
        if r.model == model:
            return {"rank": rank, "score": r.score, "lower": r.lower, "upper": r.upper}
    return None
