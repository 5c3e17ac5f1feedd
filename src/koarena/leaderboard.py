"""Win rate against the baseline, bootstrap confidence intervals, tables, CSV and JSON.

Scores are Bradley–Terry win probabilities against the baseline in percent, rounded to two
decimals; the baseline shows 50.0. The 95% interval is the 2.5th and 97.5th percentile of the
win rate over bootstrap rounds (each round refits on resampled battles).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from koarena.battles import Battles, build_battles
from koarena.bench import Bench
from koarena.categories import Categories, CategorySetting, bench_categories, members, select
from koarena.controls import (
    DEFAULT_CONTROL,
    Control,
    style_covariates,
    style_covariates_v2,
    style_metas,
)
from koarena.ensemble import ENSEMBLE_JUDGE
from koarena.errors import DataError
from koarena.flagged import Flagged
from koarena.gc_paused import gc_paused
from koarena.korean import korean_fidelity
from koarena.outfile import atomic_open, atomic_open_bytes
from koarena.rating import (
    Design,
    FitResult,
    FloatArray,
    Resample,
    design_from_battles,
    fit_bt,
    resample_targets,
    targets,
    win_rate,
)
from koarena.records import Answer, Judgment
from koarena.verdicts import DEFAULT_WEIGHT

log = logging.getLogger(__name__)

DEFAULT_ROUNDS = 1000
"""Bootstrap rounds of the confidence intervals unless told otherwise: the published
leaderboard's, the default of every command."""
DEFAULT_SEED = 42
"""Seed of every bootstrap unless told otherwise."""

L2_CONTROLLED = 1.0
"""λ = 1/C of the published style-controlled fits (scikit-learn's default C = 1)."""

ELO_ANCHOR = {Control.NONE: 1000.0}
"""The original tool pins the baseline at 1000 without control and at 1114 with control."""
ELO_ANCHOR_CONTROLLED = 1114.0

ProgressFn = Callable[[int, int], None]


@dataclass
class LeaderboardRow:
    """One model's line of the leaderboard."""

    model: str
    score: float
    lower: float | None
    upper: float | None
    rating: float
    rating_lower: float | None
    rating_upper: float | None
    avg_tokens: int
    n_battles: int
    dropped_games: int = 0
    failed_answers: int = 0
    empty_answers: int = 0
    truncated_answers: int = 0
    """Answers cut off by the token limit and not kept on purpose (`koarena.finish`)."""
    filtered_answers: int = 0
    """Answers stopped by a content filter and not kept on purpose."""
    korean_share: float | None = None
    """Mean Hangul share (%) of the model's answers, with ``korean=True``."""
    not_korean: int | None = None
    """Answers not primarily in Korean where the baseline's answer was, with ``korean=True``."""

    @property
    def ci(self) -> str:
        """The interval as (−x, +y) around the score, as the original prints it."""
        if self.lower is None or self.upper is None:
            return ""
        return f"(-{self.score - self.lower:.2f}, +{self.upper - self.score:.2f})"

    @property
    def rating_ci(self) -> str:
        if self.rating_lower is None or self.rating_upper is None:
            return ""
        return f"(-{self.rating - self.rating_lower:.2f}, +{self.rating_upper - self.rating:.2f})"


@dataclass
class Leaderboard:
    """A computed leaderboard and what it was computed from."""

    bench: str
    judges: list[str]
    baseline: str
    control: Control
    rounds: int
    seed: int
    resample: Resample
    rows: list[LeaderboardRow]
    battles: Battles
    style_coefficients: dict[str, float] = field(default_factory=dict)
    bootstrap: FloatArray | None = field(default=None, repr=False)
    """Coefficients of each bootstrap round (rounds × models), None without rounds."""
    category: str | None = None
    """The Arena-Hard v2.0 category this board covers; None for a single-baseline bench."""
    date: str = field(default_factory=lambda: dt.date.today().isoformat())

    @property
    def n_battles(self) -> int:
        return self.battles.n_battles

    @property
    def weight(self) -> int:
        """How many battles a strong win counted as."""
        return self.battles.weight

    @property
    def dropped_games(self) -> int:
        return sum(self.battles.dropped.values())

    @property
    def flagged_answers(self) -> int:
        return sum(r.failed_answers + r.empty_answers + r.truncated_answers
                   + r.filtered_answers for r in self.rows)

    def row(self, model: str) -> LeaderboardRow:
        for r in self.rows:
            if r.model == model:
                return r
        raise KeyError(model)

    def rank(self, model: str) -> int:
        """1-based rank by score."""
        return [r.model for r in self.rows].index(model) + 1


@dataclass
class LoadedData:
    """Everything the leaderboard needs from disk, loaded once for all controls."""

    battles: Battles
    answers: dict[str, Mapping[str, Answer]]
    baseline: str
    judges: list[str]
    v2_rules: bool = False
    """Arena-Hard v2.0's definitions: its verdict rules, style covariates and unpenalised fit."""


def load_judgments(bench: Bench, judges: list[str]) -> list[Judgment]:
    """Every judgment of ``judges``; raise `DataError` for a judge without judgments."""
    if not judges:
        raise DataError("at least one judge is needed")
    judgments: list[Judgment] = []
    for judge in judges:
        models = bench.judged_models(judge)
        if not models:
            raise DataError(f"judge {judge!r} has no judgment files in {bench.judgment_dir(judge)}")
        for model in models:
            judgments.extend(bench.load_judgments(judge, model))
    return judgments


def _load_answers(
    bench: Bench, models: list[str], cache: dict[str, dict[str, Answer]] | None = None
) -> dict[str, dict[str, Answer]]:
    cache = {} if cache is None else cache
    for model in models:
        if model in cache:
            continue
        if bench.answer_file(model).is_file():
            cache[model] = bench.load_answers(model)
        else:
            log.warning("%s is judged but has no answer file (%s): its average tokens show 0 "
                        "and style control has no features for it", model,
                        bench.answer_file(model))
    return {m: cache[m] for m in models if m in cache}


def load_battles(
    bench: Bench,
    *,
    judges: list[str],
    baseline: str | None = None,
    weight: int = DEFAULT_WEIGHT,
    first_game_only: bool = False,
    reuse_lone_game: bool = True,
) -> LoadedData:
    """Load the judges' verdicts and all answers; raise `DataError` on bad input."""
    bench.require()
    bench.require_judgments()
    base = baseline or bench.default_baseline()
    if not base:
        raise DataError("no baseline given and the bench's judge_config.yaml names none")
    if not judges:
        raise DataError("at least one judge is needed")
    if not bench.answer_file(base).is_file():
        raise DataError(f"baseline {base!r} has no answers ({bench.answer_file(base)} not found)")
    with gc_paused():
        return loaded_data(
            load_judgments(bench, judges),
            lambda model: _load_answers(bench, [model]).get(model),
            baseline=base,
            judges=judges,
            weight=weight,
            first_game_only=first_game_only,
            reuse_lone_game=reuse_lone_game,
        )


def loaded_data(
    judgments: list[Judgment],
    answers_of: Callable[[str], Mapping[str, Answer] | None],
    *,
    baseline: str,
    judges: list[str],
    weight: int = DEFAULT_WEIGHT,
    first_game_only: bool = False,
    reuse_lone_game: bool = True,
) -> LoadedData:
    """The battles of ``judgments`` with the answers of each model in them (``answers_of``
    gives a model's answers by question id, None without an answer file)."""
    battles = build_battles(
        judgments,
        baseline,
        weight=weight,
        first_game_only=first_game_only,
        reuse_lone_game=reuse_lone_game,
        judges=judges,
    )
    if battles.a.size == 0:
        raise DataError("no valid verdicts found")
    answers: dict[str, Mapping[str, Answer]] = {}
    for model in battles.models:
        found = answers_of(model)
        if found is not None:
            answers[model] = found
    return LoadedData(battles=battles, answers=answers, baseline=baseline, judges=list(judges))


def _percentiles(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    lo, hi = np.percentile(x, [2.5, 97.5], axis=0)
    return lo, hi


def _fit(design: Design, s_a: FloatArray, s_b: FloatArray, l2: float, control: Control,
         init: FloatArray | None = None) -> FitResult:
    try:
        return fit_bt(design, s_a, s_b, l2=l2, init=init)
    except np.linalg.LinAlgError as exc:
        # Only an unpenalised fit can be singular: v2.0's style control on too few battles.
        raise DataError(
            f"the {control.value}-controlled fit is singular: {design.n_rows} battle rows do not "
            f"determine {design.k} style coefficients (too few questions); use --control none"
        ) from exc


ControlFit = tuple[FloatArray, FloatArray | None, FloatArray]
"""A control's fit: beta of the full-data fit, beta per bootstrap round (None without rounds),
style coefficients."""


def fit_control(
    data: LoadedData,
    control: Control,
    *,
    rounds: int,
    seed: int,
    resample: Resample = Resample.BATTLES,
    batch: int | None = None,
    progress: ProgressFn | None = None,
) -> ControlFit:
    """Point estimate and bootstrap of one control (see `fit_controls`)."""
    return fit_controls(
        data, [control], rounds=rounds, seed=seed, resample=resample, batch=batch,
        progress=None if progress is None else lambda _: progress,
    )[control]


def fit_controls(
    data: LoadedData,
    controls: Iterable[Control],
    *,
    rounds: int,
    seed: int,
    resample: Resample = Resample.BATTLES,
    batch: int | None = None,
    progress: Callable[[Control], ProgressFn | None] | None = None,
) -> dict[Control, ControlFit]:
    """Point estimate and bootstrap of each control.

    Every control's bootstrap is seeded with ``seed`` and resamples the same battles, so the
    resamples are drawn once per batch of rounds and fitted under every control: the same
    numbers as one control at a time, without drawing them again for each.
    """
    battles = data.battles
    covariates = style_covariates_v2 if data.v2_rules else style_covariates
    s_a, s_b = targets(battles.n_a, battles.n_b, battles.n_tie)
    fits: dict[Control, tuple[Design, float, FitResult]] = {}
    for control in controls:
        z = (
            covariates(battles, style_metas(data.answers, control.features), control.features)
            if control.features
            else None
        )
        design = design_from_battles(battles, z)
        # Arena-Hard v2.0 fits its style-controlled model without a penalty.
        l2 = 0.0 if control is Control.NONE or data.v2_rules else L2_CONTROLLED
        point = _fit(design, s_a[None, :], s_b[None, :], l2, control)
        if not point.converged:
            log.warning("the %s fit did not converge in %d iterations", control.value,
                        point.iterations)
        fits[control] = design, l2, point
    if rounds <= 0 or not fits:
        return {c: (point.beta[0], None, point.gamma[0]) for c, (_, _, point) in fits.items()}
    rng = np.random.default_rng(seed)
    if batch is None:
        # Rounds are fitted together; keep each (rows × rounds) work array near 16 MB.
        batch = max(1, min(64, 2_000_000 // max(1, len(battles.a))))
    tick = {c: progress(c) if progress else None for c in fits}
    betas: dict[Control, list[FloatArray]] = {c: [] for c in fits}
    done = 0
    while done < rounds:
        size = min(batch, rounds - done)
        ra, rb = resample_targets(
            battles.n_a, battles.n_b, battles.n_tie, battles.q,
            len(battles.questions), resample, rng, size,
        )
        done += size
        for control, (design, l2, point) in fits.items():
            init = np.concatenate([point.beta[0], point.gamma[0]])
            betas[control].append(_fit(design, ra, rb, l2, control, init).beta)
            report = tick[control]
            if report is not None:
                report(done, rounds)
    return {
        c: (point.beta[0], np.concatenate(betas[c]), point.gamma[0])
        for c, (_, _, point) in fits.items()
    }


def build_rows(
    data: LoadedData, control: Control, beta: FloatArray, boot: FloatArray | None
) -> list[LeaderboardRow]:
    battles = data.battles
    base = 0
    anchor = ELO_ANCHOR.get(control, ELO_ANCHOR_CONTROLLED)
    wr = win_rate(beta[None, :], base)[0] * 100.0
    rating = 400.0 * (beta - beta[base]) + anchor
    lo = hi = r_lo = r_hi = None
    if boot is not None:
        lo, hi = _percentiles(win_rate(boot, base) * 100.0)
        r_lo, r_hi = _percentiles(400.0 * (boot - boot[:, [base]]) + anchor)
    per_model = np.bincount(
        battles.b, battles.n_a + battles.n_b + battles.n_tie, minlength=len(battles.models)
    )
    rows: list[LeaderboardRow] = []
    for i, model in enumerate(battles.models):
        answers = data.answers.get(model, {})
        tokens = [a.meta.token_len for a in answers.values() if a.meta is not None]
        flagged = Flagged.of_answers(answers.values())
        rows.append(
            LeaderboardRow(
                model=model,
                score=round(float(wr[i]), 2),
                lower=None if lo is None else round(float(lo[i]), 2),
                upper=None if hi is None else round(float(hi[i]), 2),
                rating=float(rating[i]),
                rating_lower=None if r_lo is None else float(r_lo[i]),
                rating_upper=None if r_hi is None else float(r_hi[i]),
                # The original truncates the mean token count to an integer.
                avg_tokens=int(sum(tokens) / len(tokens)) if tokens else 0,
                n_battles=int(per_model[i]),
                dropped_games=battles.dropped.get(model, 0),
                failed_answers=flagged.failure_markers,
                empty_answers=flagged.empty,
                truncated_answers=flagged.truncated,
                filtered_answers=flagged.filtered,
            )
        )
    rows.sort(key=lambda r: (-r.score, r.model))
    return rows


def compute_leaderboards(
    bench: Bench,
    controls: Iterable[Control],
    *,
    judges: list[str] | None = None,
    baseline: str | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    weight: int = DEFAULT_WEIGHT,
    first_game_only: bool = False,
    reuse_lone_game: bool = True,
    resample: Resample = Resample.BATTLES,
    korean: bool = False,
    progress: Callable[[Control], ProgressFn | None] | None = None,
) -> dict[Control, Leaderboard]:
    """Leaderboards of ``bench`` under each control, sharing one load of the data.

    ``korean`` adds each model's Korean fidelity (`koarena.korean`) to its row.
    """
    data = load_battles(
        bench,
        judges=judges or [ENSEMBLE_JUDGE],
        baseline=baseline,
        weight=weight,
        first_game_only=first_game_only,
        reuse_lone_game=reuse_lone_game,
    )
    return _boards(
        bench.name, data, controls, rounds=rounds, seed=seed, resample=resample, korean=korean,
        progress=progress,
    )


def fit_leaderboards(
    data: LoadedData,
    controls: Iterable[Control],
    *,
    bench: str,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    resample: Resample = Resample.BATTLES,
) -> dict[Control, Leaderboard]:
    """Leaderboards of loaded data under each control; see `compute_leaderboards`."""
    return _boards(
        bench, data, controls, rounds=rounds, seed=seed, resample=resample, korean=False,
        progress=None,
    )


def _boards(
    bench: str,
    data: LoadedData,
    controls: Iterable[Control],
    *,
    rounds: int,
    seed: int,
    resample: Resample,
    korean: bool,
    progress: Callable[[Control], ProgressFn | None] | None,
    category: str | None = None,
) -> dict[Control, Leaderboard]:
    fidelity = _korean_columns(data) if korean else {}
    fits = fit_controls(
        data, controls, rounds=rounds, seed=seed, resample=resample, progress=progress
    )
    boards: dict[Control, Leaderboard] = {}
    for control, (beta, boot, gamma) in fits.items():
        boards[control] = Leaderboard(
            bench=bench,
            judges=data.judges,
            baseline=data.baseline,
            control=control,
            rounds=rounds,
            seed=seed,
            resample=resample,
            rows=_with_korean(build_rows(data, control, beta, boot), fidelity),
            battles=data.battles,
            style_coefficients={f: float(g) for f, g in zip(control.features, gamma, strict=True)},
            bootstrap=boot,
            category=category,
        )
    return boards


def category_data(
    bench: Bench,
    category: CategorySetting,
    question_ids: set[str],
    judgments: Iterable[Judgment],
    *,
    judges: list[str],
    weight: int = DEFAULT_WEIGHT,
    cache: dict[str, dict[str, Answer]] | None = None,
) -> LoadedData | None:
    """One category's battles (its questions' judgments against its baseline, by v2.0's
    rules) and its answers; None when it has no valid verdict."""
    baseline = category.baseline
    battles = build_battles(
        (j for j in judgments if j.question_id in question_ids and j.model != baseline),
        baseline,
        weight=weight,
        judges=judges,
        v2_rules=True,
    )
    if battles.a.size == 0:
        return None
    answers = _load_answers(bench, battles.models, cache)
    return LoadedData(
        battles=battles,
        answers={m: {q: a for q, a in by_q.items() if q in question_ids}
                 for m, by_q in answers.items()},
        baseline=baseline,
        judges=list(judges),
        v2_rules=True,
    )


def compute_category_leaderboards(
    bench: Bench,
    controls: Iterable[Control],
    *,
    categories: list[str] | None = None,
    judges: list[str] | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    weight: int = DEFAULT_WEIGHT,
    resample: Resample = Resample.BATTLES,
    korean: bool = False,
    settings: Categories | None = None,
    progress: Callable[[Control], ProgressFn | None] | None = None,
) -> dict[str, dict[Control, Leaderboard]]:
    """Arena-Hard v2.0 leaderboards: one per category, each against its own baseline.

    ``categories`` names the categories to show (default: the questions' own categories, see
    `koarena.categories.default_tables`, leaving out those without verdicts). A category's
    board uses only its questions' judgments against its baseline, read by v2.0's rules
    (`build_battles` ``v2_rules``): its score without control is the mean of the game
    scores, as v2.0's ``show_result.py``.
    ``settings`` defaults to the bench's ``judge_settings.yaml``.
    """
    bench.require()
    cats = bench_categories(bench) if settings is None else settings
    if not cats:
        raise DataError(f"bench {bench.name!r} has no category settings "
                        f"({bench.root / 'judge_settings.yaml'} not found)")
    questions = bench.load_questions()
    chosen = select(categories, questions, cats)
    judge_names = judges or [ENSEMBLE_JUDGE]
    judgments = load_judgments(bench, judge_names)
    cache: dict[str, dict[str, Answer]] = {}
    out: dict[str, dict[Control, Leaderboard]] = {}
    for name in chosen:
        data = category_data(bench, cats[name], members(questions, name), judgments,
                             judges=judge_names, weight=weight, cache=cache)
        if data is None:
            if categories:
                raise DataError(f"category {name!r}: no valid verdicts found")
            log.warning("category %s: no valid verdicts, no table", name)
            continue
        out[name] = _boards(
            bench.name, data, controls, rounds=rounds, seed=seed, resample=resample,
            korean=korean, progress=progress, category=name,
        )
    if not out:
        raise DataError("no valid verdicts found in any category")
    return out


def _korean_columns(data: LoadedData) -> dict[str, tuple[float | None, int | None]]:
    return {
        f.model: (
            None if f.mean_hangul_share is None else round(100.0 * f.mean_hangul_share, 1),
            f.not_korean_where_baseline_korean,
        )
        for f in korean_fidelity(data.answers, baseline=data.baseline)
    }


def _with_korean(
    rows: list[LeaderboardRow], fidelity: dict[str, tuple[float | None, int | None]]
) -> list[LeaderboardRow]:
    for r in rows:
        if r.model in fidelity:
            r.korean_share, r.not_korean = fidelity[r.model]
    return rows


def compute_leaderboard(
    bench: Bench, control: Control = DEFAULT_CONTROL, **kwargs: Any
) -> Leaderboard:
    """One leaderboard; see `compute_leaderboards` for the options."""
    return compute_leaderboards(bench, [control], **kwargs)[control]


CSV_COLUMNS = [
    "model", "score", "rating_q025", "rating_q975", "avg_tokens", "elo_score",
    "elo_rating_q025", "elo_rating_q975", "elo_CI", "CI", "date",
]
"""The original tool's leaderboard CSV columns, in its order."""


def _fmt(x: float | None) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else repr(float(x))


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP's CSV-injection rule):
    a leading ``= + - @``, tab or carriage return gets a ``'`` before it."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def write_csv(board: Leaderboard, path: Path) -> None:
    """The leaderboard as the original tool's CSV (win rates in %, Elo-scale ratings)."""
    korean = any(r.korean_share is not None for r in board.rows)
    with atomic_open(path, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS + (["korean_share", "not_korean"] if korean else []))
        for r in board.rows:
            extra = [_fmt(r.korean_share), r.not_korean if r.not_korean is not None else ""]
            w.writerow([
                csv_text(r.model), r.score, _fmt(r.lower), _fmt(r.upper), r.avg_tokens,
                repr(r.rating), _fmt(r.rating_lower), _fmt(r.rating_upper), r.rating_ci, r.ci,
                board.date, *(extra if korean else []),
            ])


def to_json(board: Leaderboard) -> dict[str, Any]:
    """A JSON-ready description of the leaderboard and how it was made."""
    return {
        "bench": board.bench,
        "judges": board.judges,
        "baseline": board.baseline,
        "category": board.category,
        "control": board.control.value,
        "rounds": board.rounds,
        "seed": board.seed,
        "resample": board.resample.value,
        "weight": board.weight,
        "date": board.date,
        "n_battles": board.n_battles,
        "dropped_games": board.dropped_games,
        "lone_games": board.battles.lone_games,
        "style_coefficients": board.style_coefficients,
        "rows": [asdict(r) for r in board.rows],
    }


def write_json(board: Leaderboard, path: Path) -> None:
    with atomic_open_bytes(path) as fh:
        fh.write(orjson.dumps(to_json(board), option=orjson.OPT_INDENT_2))


def write_output(board: Leaderboard, path: Path) -> None:
    """CSV when the name ends in .csv, JSON when it ends in .json."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        write_csv(board, path)
    elif suffix == ".json":
        write_json(board, path)
    else:
        raise DataError(f"--output must end in .csv or .json, got {path.name!r}")
