"""``analyze()``: every analysis of a bench in one JSON-ready dict.

Each top-level section is ``{"available": true, ...}`` with its numbers, or
``{"available": false, "reason": ...}`` when the data cannot answer it (for example judge
agreement when only the ensemble's verdicts are on disk).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from koarena.analysis.agreement import judge_agreement
from koarena.analysis.positions import position_stats
from koarena.analysis.self_preference import (
    DEFAULT_FAMILIES,
    DEFAULT_SELF_PREFERENCE_ROUNDS,
    FamilyRule,
    self_preference,
)
from koarena.analysis.separability import (
    Scored,
    read_reference,
    reference_metrics,
    separability,
)
from koarena.analysis.verdicts import JudgeLabels, judge_labels, load_judge_labels
from koarena.battles import build_battles
from koarena.bench import Bench
from koarena.categories import bench_categories, members, select
from koarena.clusters import cluster_win_rates, weakest
from koarena.controls import Control
from koarena.ensemble import ENSEMBLE_JUDGE
from koarena.errors import DataError
from koarena.korean import DEFAULT_THRESHOLD, korean_fidelity
from koarena.leaderboard import (
    DEFAULT_ROUNDS,
    DEFAULT_SEED,
    Leaderboard,
    LoadedData,
    build_rows,
    category_data,
    fit_control,
    load_battles,
    load_judgments,
    loaded_data,
)
from koarena.rating import FloatArray, win_rate
from koarena.records import Answer, Judgment, Question

log = logging.getLogger(__name__)

WEAKEST_CLUSTERS = 3


@dataclass(frozen=True)
class AnalyzeOptions:
    """What `analyze` computes and how."""

    judges: list[str] | None = None
    board_judges: list[str] | None = None
    baseline: str | None = None
    reference: Path | None = None
    families: Sequence[FamilyRule] = DEFAULT_FAMILIES
    controls: tuple[Control, ...] = (Control.NONE, Control.STYLE)
    rounds: int = DEFAULT_ROUNDS
    self_preference_rounds: int = DEFAULT_SELF_PREFERENCE_ROUNDS
    seed: int = DEFAULT_SEED
    korean_threshold: float = DEFAULT_THRESHOLD
    weakest: int = WEAKEST_CLUSTERS
    category: str | None = None
    """On a bench with categories (Arena-Hard v2.0): the one to analyse (default: the first
    of the questions' categories)."""


@dataclass(frozen=True)
class Preloaded:
    """What a caller has loaded and fitted already (the report does): `analyze` then reads no
    file and refits only what the caller did not fit.

    ``boards`` are leaderboards per judge, fitted with the options' rounds and seed and the
    default weight; the separability reuses them when the leaderboard judges are one of these.
    """

    questions: list[Question]
    judgments: Mapping[str, list[Judgment]]
    answers: Mapping[str, Mapping[str, Answer]]
    """Every answer file's answers by model, not only the judged models'."""
    boards: Mapping[str, Mapping[Control, Leaderboard]]


def _unavailable(reason: str) -> dict[str, Any]:
    return {"available": False, "reason": reason}


def _positions(labels: dict[str, JudgeLabels]) -> dict[str, Any]:
    return {
        "available": True,
        "judges": [position_stats(labels[j]).to_dict() for j in sorted(labels)],
    }


def _per_judge(labels: dict[str, JudgeLabels]) -> list[str]:
    return sorted(j for j in labels if j != ENSEMBLE_JUDGE)


def _agreement(labels: dict[str, JudgeLabels]) -> dict[str, Any]:
    judges = sorted(labels)
    if len(judges) < 2:
        return _unavailable(
            "needs the verdict files of at least two judges "
            f"(model_judgment/<judge>/); found: {', '.join(judges) or 'none'}"
        )
    return {
        "available": True,
        "pairs": [
            judge_agreement(labels[a], labels[b]).to_dict() for a, b in combinations(judges, 2)
        ],
    }


def _self_preference(
    labels: dict[str, JudgeLabels], baseline: str, opts: AnalyzeOptions
) -> dict[str, Any]:
    judges = _per_judge(labels)
    rules = list(opts.families)
    ruled = [j for j in judges if any(r.matches_judge(j) for r in rules)]
    families = {r.judge: list(r.models) for r in rules}
    if len(judges) < 2 or not ruled:
        return {
            **_unavailable(
                "needs per-judge verdict files of a judge with a family rule and of at least one "
                f"other judge; per-judge directories found: {', '.join(judges) or 'none'} "
                f"(the {ENSEMBLE_JUDGE} directory pools the judges and cannot be split)"
            ),
            "families": families,
        }
    battles = {j: build_battles(labels[j].judgments, baseline, judges=[j]) for j in judges}
    rows = self_preference(battles, rules, rounds=opts.self_preference_rounds, seed=opts.seed)
    return {"available": True, "families": families, "rows": [r.to_dict() for r in rows]}


def _separability(
    data: LoadedData, opts: AnalyzeOptions, boards: Mapping[Control, Leaderboard]
) -> dict[str, Any]:
    reference = read_reference(opts.reference) if opts.reference else None
    out: dict[str, Any] = {"available": True, "judges": data.judges, "rounds": opts.rounds}
    if opts.rounds <= 0:
        return _unavailable("needs bootstrap rounds (--rounds > 0) for confidence intervals")
    controls: dict[str, Any] = {}
    for control in opts.controls:
        boot: FloatArray | None
        if control in boards:
            rows, boot = boards[control].rows, boards[control].bootstrap
        else:
            try:
                beta, boot, _ = fit_control(data, control, rounds=opts.rounds, seed=opts.seed)
            except DataError as exc:
                log.warning("separability without %s control: %s", control.value, exc)
                continue
            rows = build_rows(data, control, beta, boot)
        scores = {r.model: Scored(r.score, r.lower, r.upper) for r in rows}
        pairs, separated = separability(scores)
        entry: dict[str, Any] = {
            "models": len(rows),
            "pairs": pairs,
            "separated_pairs": separated,
            "separability": separated / pairs if pairs else None,
            "leaderboard": [
                {"model": r.model, "score": r.score, "lower": r.lower, "upper": r.upper}
                for r in rows
            ],
        }
        if reference is not None:
            assert boot is not None  # rounds > 0
            wr = win_rate(boot, 0) * 100.0
            boot_scores = {m: wr[:, i] for i, m in enumerate(data.battles.models)}
            ratings = {r.model: r.rating for r in rows}
            entry["reference"] = reference_metrics(scores, boot_scores, reference, ratings)
        controls[control.value] = entry
    out["controls"] = controls
    if opts.reference:
        out["reference_file"] = str(opts.reference)
    return out


def _clusters(questions: list[Question], data: LoadedData, opts: AnalyzeOptions) -> dict[str, Any]:
    cluster_of = {q.question_id: q.ko_cluster for q in questions}
    if not any(cluster_of.values()):
        return _unavailable("the bench's questions have no ko_cluster field")
    rates = cluster_win_rates(data.battles, cluster_of)
    models: dict[str, Any] = {}
    for model, per in sorted(rates.items()):
        if model == data.baseline:
            continue
        models[model] = {
            "clusters": {
                c: {"win_rate": 100.0 * s.win_rate, "battles": s.battles}
                for c, s in sorted(per.items())
            },
            "weakest": [
                {"cluster": c, "win_rate": 100.0 * s.win_rate, "battles": s.battles}
                for c, s in weakest(per, opts.weakest)
            ],
        }
    counts = np.bincount(
        [sorted({c for c in cluster_of.values() if c}).index(c) for c in cluster_of.values() if c]
    )
    return {
        "available": True,
        "judges": data.judges,
        "clusters": len(counts),
        "questions_per_cluster": {"min": int(counts.min()), "max": int(counts.max())},
        "models": models,
    }


def _korean(
    bench: Bench,
    answers: Mapping[str, Mapping[str, Answer]],
    baseline: str,
    opts: AnalyzeOptions,
    preloaded: bool,
) -> dict[str, Any]:
    all_answers = dict(answers)
    for model in [] if preloaded else bench.answer_models():
        if model not in all_answers:
            all_answers[model] = bench.load_answers(model, strict=False)
    if not all_answers:
        return _unavailable(f"no answer files in {bench.answer_dir}")
    rows = korean_fidelity(all_answers, baseline=baseline, threshold=opts.korean_threshold)
    return {
        "available": True,
        "threshold": opts.korean_threshold,
        "baseline": baseline,
        "models": [r.to_dict() for r in rows],
    }


def _category(
    bench: Bench, labels: dict[str, JudgeLabels], board_judges: list[str], opts: AnalyzeOptions
) -> tuple[str | None, LoadedData | None]:
    """On a bench with categories: the analysed category and its data, and ``labels``
    narrowed to its questions in place (never a mix of baselines). (None, None) otherwise."""
    cats = bench_categories(bench)
    if not cats:
        if opts.category:
            raise DataError(f"bench {bench.name!r} has no category settings "
                            f"({bench.root / 'judge_settings.yaml'} not found)")
        return None, None
    if opts.baseline:
        raise DataError("--baseline does not apply to a bench with categories")
    questions = bench.load_questions()
    chosen = select([opts.category] if opts.category else None, questions, cats)
    if not chosen:
        raise DataError(f"no question of bench {bench.name!r} has a category with settings")
    name = chosen[0]
    ids = members(questions, name)
    for judge, judged in list(labels.items()):
        labels[judge] = judge_labels(judge, (j for j in judged.judgments if j.question_id in ids))
    judgments = [j for judge in board_judges for j in _judgments(bench, labels, judge)]
    data = category_data(bench, cats[name], ids, judgments, judges=board_judges)
    if data is None:
        raise DataError(f"category {name!r}: no valid verdicts found")
    return name, data


def _judgments(bench: Bench, labels: dict[str, JudgeLabels], judge: str) -> list[Judgment]:
    if judge in labels:
        return labels[judge].judgments
    return load_judgments(bench, [judge])


def analyze(
    bench: Bench, opts: AnalyzeOptions | None = None, preloaded: Preloaded | None = None
) -> dict[str, Any]:
    """All analyses of ``bench``; see the module docstring for the shape of the result.

    With ``preloaded`` (see `Preloaded`) nothing is read from disk again.
    """
    opts = opts or AnalyzeOptions()
    bench.require()
    judges = opts.judges or bench.require_judgments()
    board_judges = opts.board_judges or ([ENSEMBLE_JUDGE] if ENSEMBLE_JUDGE in judges else judges)
    boards: Mapping[Control, Leaderboard] = {}
    category: str | None = None
    if preloaded is None:
        log.info("loading verdicts of %s", ", ".join(judges))
        labels = load_judge_labels(bench, judges)
        category, found = _category(bench, labels, board_judges, opts)
        data = found or load_battles(bench, judges=board_judges, baseline=opts.baseline)
        questions = bench.load_questions()
    else:
        # the caller's data has one baseline: a bench with categories is analysed from disk
        labels = {j: judge_labels(j, preloaded.judgments[j]) for j in judges}
        questions = preloaded.questions
        if len(board_judges) == 1 and board_judges[0] in preloaded.boards:
            boards = preloaded.boards[board_judges[0]]
        base = opts.baseline or bench.default_baseline()
        if not base:
            raise DataError("no baseline given and the bench's judge_config.yaml names none")
        data = loaded_data(
            [j for judge in board_judges for j in preloaded.judgments[judge]],
            preloaded.answers.get,
            baseline=base,
            judges=board_judges,
        )
    log.info("separability: %d bootstrap rounds per control", opts.rounds)
    result: dict[str, Any] = {
        "bench": bench.name,
        "judges": judges,
        "leaderboard_judges": board_judges,
        "baseline": data.baseline,
        "category": category,
        "seed": opts.seed,
        "position_consistency": _positions(labels),
        "judge_agreement": _agreement(labels),
        "self_preference": _self_preference(labels, data.baseline, opts),
        "separability": _separability(data, opts, boards),
        "clusters": _clusters(questions, data, opts),
    }
    log.info("Korean fidelity of every answer")
    result["korean_fidelity"] = _korean(
        bench,
        data.answers if preloaded is None else preloaded.answers,
        data.baseline,
        opts,
        preloaded is not None,
    )
    return result
