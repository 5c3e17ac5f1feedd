"""`koarena report`: the leaderboard and judgment browser as one static, offline site.

Layout of the site::

    index.html            leaderboard, CI chart and per-cluster win rates (data inline)
    browse.html           judgment browser (loads its data lazily as <script> shards)
    analysis.html         judge reliability, separability, weakest clusters, Korean fidelity
                          (`koarena.analysis.analyze`, data inline; left out with analysis=False)
    assets/               CSS and JavaScript
    data/index.js         question list, models and every verdict, for search and filters
    data/q/NNNN.js        one shard per question: rendered question, answers and judges' games

The leaderboard numbers come from `koarena.leaderboard` and the analysis from
`koarena.analysis`; this module only arranges them.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from koarena.analysis import AnalyzeOptions, analyze
from koarena.bench import Bench
from koarena.categories import bench_categories, members
from koarena.clusters import cluster_win_rates
from koarena.controls import STANDARD_CONTROLS, Control
from koarena.errors import DataError
from koarena.jsonl import LoadReport
from koarena.leaderboard import (
    DEFAULT_ROUNDS,
    DEFAULT_SEED,
    Leaderboard,
    compute_category_leaderboards,
    compute_leaderboards,
)
from koarena.records import Answer, Judgment, Question
from koarena.report.analysis_page import analysis_page_data
from koarena.report.jsdata import script_json, write_shard
from koarena.report.shards import AnswerText, GameText, ShardJob, verdict_code, write_shards
from koarena.verdicts import DEFAULT_WEIGHT

log = logging.getLogger(__name__)

MARKER = ".koarena-report"
"""A file in every site this builds: only such a directory is ever cleared for a rebuild."""
ASSETS = ("report.css", "common.js", "leaderboard.js", "browse.js", "analysis.js")
INDEX_ASSETS = ("report.css", "common.js", "leaderboard.js")
"""The assets index.html loads: with index.html itself, what the ≤ 2 MB budget counts."""


@dataclass(frozen=True)
class ReportSummary:
    """What a build wrote."""

    output: Path
    questions: int
    models: int
    judges: list[str]
    controls: list[str]
    index_bytes: int
    shard_bytes: int
    analysis_bytes: int | None
    """Size of analysis.html, None when the build left the analysis out."""


def build_report(
    bench: Bench,
    output: Path,
    *,
    judges: list[str] | None = None,
    baseline: str | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    workers: int | None = None,
    analysis: bool = True,
    reference: Path | None = None,
) -> ReportSummary:
    """Write the site for ``bench`` into ``output``; see the module docstring for its layout.

    The analysis (``analysis=True``) runs in a process of its own while the leaderboards are
    fitted and the answers rendered: it costs about as much CPU as a third of the rest.
    """
    questions = bench.load_questions()
    judges = judges or bench.judges()
    if not judges:
        raise DataError(f"no judgments found in {bench.judgment_root}")
    _prepare_output(output)
    side = ProcessPoolExecutor(max_workers=1) if analysis else None
    try:
        pending = (
            side.submit(_analysis, bench, judges, baseline, rounds, seed, reference)
            if side else None
        )
        return _build(bench, output, questions, judges, baseline, rounds, seed, workers, pending)
    finally:
        if side is not None:
            side.shutdown(cancel_futures=True)


def _analysis(
    bench: Bench, judges: list[str], baseline: str | None, rounds: int, seed: int,
    reference: Path | None = None,
) -> dict[str, Any]:
    opts = AnalyzeOptions(judges=judges, baseline=baseline, rounds=rounds, seed=seed,
                          reference=reference)
    log.info("analysis of judges %s (in its own process)", ", ".join(judges))
    try:
        return analyze(bench, opts)
    except DataError as exc:
        # as for the leaderboards: without style covariates, separability without control
        log.warning("analysis: separability without style control only (%s)", exc)
        return analyze(bench, replace(opts, controls=(Control.NONE,)))


def _build(
    bench: Bench,
    output: Path,
    questions: list[Question],
    judges: list[str],
    baseline: str | None,
    rounds: int,
    seed: int,
    workers: int | None,
    pending: Future[dict[str, Any]] | None,
) -> ReportSummary:
    cats = bench_categories(bench)
    by_category = _category_boards(bench, judges, rounds, seed) if cats else {}
    if by_category:
        # The first category's boards stand at the top level; the page switches between all.
        first_cat = next(iter(by_category))
        boards = by_category[first_cat]
        base = cats[first_cat].baseline
        models = _model_order_categories(by_category, judges)
        baseline_of = {q.question_id: cats[q.category].baseline for q in questions}
    else:
        boards = {j: _leaderboards(bench, j, baseline, rounds, seed) for j in judges}
        base = boards[judges[0]][Control.NONE].baseline
        models = _model_order(boards, judges, base)
        baseline_of = {q.question_id: base for q in questions}

    controls = [c.value for c in STANDARD_CONTROLS if c in boards[judges[0]]]
    page = {
        "bench": bench.name,
        "baseline": base,
        "judges": judges,
        "controls": controls,
        "rounds": rounds,
        "seed": seed,
        "questions": len(questions),
        "boards": _page_boards(boards),
        "clusters": {j: _clusters(by_c[Control.NONE], questions) for j, by_c in boards.items()},
        "categories": [
            {
                "name": c,
                "baseline": cats[c].baseline,
                "questions": len(members(questions, c)),
                "boards": _page_boards(by_judge),
                "clusters": {
                    j: _clusters(by_c[Control.NONE], questions) for j, by_c in by_judge.items()
                },
            }
            for c, by_judge in by_category.items()
        ],
    }

    log.info("loading the answers and judgments of %d models", len(models))
    answers = _load_answers(bench, list(dict.fromkeys([*baseline_of.values(), *models])))
    judgments = {j: _load_judgments(bench, j, models) for j in judges}
    shard_names = [f"q/{i:04d}.js" for i in range(len(questions))]
    browse_index = {
        "bench": bench.name,
        "baseline": base,
        "judges": judges,
        "models": models,
        "weight": DEFAULT_WEIGHT,
        "questions": [
            {
                "id": q.question_id,
                "cluster": q.cluster,
                "topic": topic(q),
                "text": "\n".join(q.turns),
                "category": q.category,
                "shard": name,
            }
            for q, name in zip(questions, shard_names, strict=True)
        ],
        "verdicts": {
            j: {
                m: "".join(verdict_code(judgments[j].get((m, q.question_id))) for q in questions)
                for m in models
            }
            for j in judges
        },
    }
    data_dir = output / "data"
    index_js = write_shard(data_dir / "index.js", "index", browse_index)
    jobs = [
        _shard_job(data_dir / name, q, baseline_of[q.question_id], models, answers, judgments)
        for q, name in zip(questions, shard_names, strict=True)
    ]
    shard_bytes = index_js + _render_shards(jobs, workers)

    analysis_page = None
    if pending is not None:
        log.info("waiting for the analysis")
        analysis_page = analysis_page_data(pending.result(), models)
    index_bytes, analysis_bytes = _write_pages(output, bench.name, page, analysis_page)
    return ReportSummary(
        output=output,
        questions=len(questions),
        models=len(models),
        judges=judges,
        controls=controls,
        index_bytes=index_bytes,
        shard_bytes=shard_bytes,
        analysis_bytes=analysis_bytes,
    )


def topic(q: Question) -> str:
    """The cluster a question is grouped under: its Korean cluster name, else the English one
    (benchmarks other than Ko-Arena-Hard have only ``cluster``)."""
    return q.ko_cluster or q.cluster


def _prepare_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise DataError(f"--output {output} exists and is not a directory")
    if output.is_dir() and any(output.iterdir()):
        if not (output / MARKER).is_file():
            raise DataError(
                f"--output {output} is not empty and was not written by 'koarena report'; "
                "name a new or empty directory"
            )
        for sub in ("data", "assets"):
            shutil.rmtree(output / sub, ignore_errors=True)
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("written by koarena report; rebuilt in place\n", "utf-8")


def _leaderboards(
    bench: Bench, judge: str, baseline: str | None, rounds: int, seed: int
) -> dict[Control, Leaderboard]:
    log.info("leaderboards of judge %s (%d bootstrap rounds)", judge, rounds)
    try:
        return compute_leaderboards(
            bench, list(STANDARD_CONTROLS), judges=[judge], baseline=baseline, rounds=rounds,
            seed=seed, weight=DEFAULT_WEIGHT,
        )
    except DataError as exc:
        # Style control needs every answer's length and markdown counts; without them the
        # uncontrolled leaderboard is still worth showing.
        log.warning("judge %s: only the uncontrolled leaderboard (%s)", judge, exc)
        return compute_leaderboards(
            bench, [Control.NONE], judges=[judge], baseline=baseline, rounds=rounds, seed=seed,
            weight=DEFAULT_WEIGHT,
        )


def _category_boards(
    bench: Bench, judges: list[str], rounds: int, seed: int
) -> dict[str, dict[str, dict[Control, Leaderboard]]]:
    """category → judge → control → board, for a bench with categories (Arena-Hard v2.0)."""
    out: dict[str, dict[str, dict[Control, Leaderboard]]] = {}
    for judge in judges:
        log.info("category leaderboards of judge %s (%d bootstrap rounds)", judge, rounds)
        try:
            boards = compute_category_leaderboards(
                bench, list(STANDARD_CONTROLS), judges=[judge], rounds=rounds, seed=seed,
                weight=DEFAULT_WEIGHT,
            )
        except DataError as exc:
            # as for a single baseline: without style covariates (or with too few battles for
            # v2.0's unpenalised fit), the uncontrolled leaderboards are still worth showing
            log.warning("judge %s: only the uncontrolled leaderboards (%s)", judge, exc)
            boards = compute_category_leaderboards(
                bench, [Control.NONE], judges=[judge], rounds=rounds, seed=seed,
                weight=DEFAULT_WEIGHT,
            )
        for category, by_control in boards.items():
            out.setdefault(category, {})[judge] = by_control
    # a category some judge has no verdicts for is shown with the judges that have
    return {c: by_judge for c, by_judge in out.items() if set(by_judge) == set(judges)}


def _page_boards(boards: dict[str, dict[Control, Leaderboard]]) -> dict[str, Any]:
    return {j: {c.value: _rows(b) for c, b in by_c.items()} for j, by_c in boards.items()}


def _model_order_categories(
    by_category: dict[str, dict[str, dict[Control, Leaderboard]]], judges: list[str]
) -> list[str]:
    """Judged models over all categories, each category's baseline left out of its own."""
    seen: dict[str, None] = {}
    for by_judge in by_category.values():
        for j in judges:
            board = by_judge[j][Control.NONE]
            for r in board.rows:
                if r.model != board.baseline:
                    seen.setdefault(r.model, None)
    return list(seen)


def _model_order(
    boards: dict[str, dict[Control, Leaderboard]], judges: list[str], baseline: str
) -> list[str]:
    """Judged models other than the baseline: by the first judge's score, then the rest."""
    seen: dict[str, None] = {}
    for j in judges:
        for r in boards[j][Control.NONE].rows:
            if r.model != baseline:
                seen.setdefault(r.model, None)
    return list(seen)


def _rows(board: Leaderboard) -> list[dict[str, Any]]:
    return [
        {
            "model": r.model,
            "score": r.score,
            "lower": r.lower,
            "upper": r.upper,
            "rating": round(r.rating, 2),
            "avg_tokens": r.avg_tokens,
            "n_battles": r.n_battles,
            "dropped_games": r.dropped_games,
            "failed_answers": r.failed_answers,
            "empty_answers": r.empty_answers,
        }
        for r in board.rows
    ]


def _clusters(board: Leaderboard, questions: list[Question]) -> dict[str, Any]:
    """Cluster names (Korean, English), question counts and, per model, [win rate %, battles]
    per cluster (null where the model has no battle there)."""
    cluster_of = {q.question_id: topic(q) for q in questions}
    rates = cluster_win_rates(board.battles, cluster_of)
    names = sorted({c for c in cluster_of.values() if c})
    english: dict[str, str] = {}
    counts: dict[str, int] = {}
    for q in questions:
        if topic(q):
            english.setdefault(topic(q), q.cluster)
            counts[topic(q)] = counts.get(topic(q), 0) + 1
    return {
        "names": names,
        "en": [english[c] for c in names],
        "questions": [counts[c] for c in names],
        "rates": {
            model: [
                [round(per[c].win_rate * 100.0, 1), per[c].battles] if c in per else None
                for c in names
            ]
            for model, per in rates.items()
            if model != board.baseline
        },
    }


def _load_answers(bench: Bench, models: list[str]) -> dict[str, dict[str, Answer]]:
    out: dict[str, dict[str, Answer]] = {}
    for m in models:
        if not bench.answer_file(m).is_file():
            log.warning("model %s has verdicts but no answer file", m)
            continue
        report = LoadReport()
        out[m] = bench.load_answers(m, strict=False, report=report)
        for lineno, why in report.malformed:
            log.warning("%s:%d skipped: %s", bench.answer_file(m), lineno, why)
    return out


def _load_judgments(
    bench: Bench, judge: str, models: list[str]
) -> dict[tuple[str, str], Judgment]:
    out: dict[tuple[str, str], Judgment] = {}
    for m in models:
        if bench.judgment_file(judge, m).is_file():
            for j in bench.load_judgments(judge, m, strict=False):
                out[(m, j.question_id)] = j
    return out


def _shard_job(
    path: Path,
    q: Question,
    baseline: str,
    models: list[str],
    answers: dict[str, dict[str, Answer]],
    judgments: dict[str, dict[tuple[str, str], Judgment]],
) -> ShardJob:
    qid = q.question_id
    shown: dict[str, AnswerText] = {}
    for m in [baseline, *models]:
        a = answers.get(m, {}).get(qid)
        if a is not None:
            shown[m] = AnswerText.of(a)
    games: dict[str, dict[str, list[GameText]]] = {}
    for judge, by_key in judgments.items():
        games[judge] = {
            m: GameText.of(by_key[(m, qid)]) for m in models if (m, qid) in by_key
        }
    return ShardJob(
        path=path,
        key=f"q:{qid}",
        question_id=qid,
        cluster=q.cluster,
        ko_cluster=q.ko_cluster,
        turns=list(q.turns),
        baseline=baseline,
        answers=shown,
        games=games,
    )


def _chunks(jobs: list[ShardJob], n: int) -> Iterator[list[ShardJob]]:
    size = max(1, len(jobs) // (n * 4))
    for i in range(0, len(jobs), size):
        yield jobs[i : i + size]


def _render_shards(jobs: list[ShardJob], workers: int | None) -> int:
    """Markdown rendering dominates the build, so the shards are spread over the cores."""
    n = workers or os.cpu_count() or 1
    log.info("rendering %d question shards with %d process(es)", len(jobs), n)
    if n <= 1 or len(jobs) < 2:
        return write_shards(jobs)
    with ProcessPoolExecutor(max_workers=n) as pool:
        return sum(pool.map(write_shards, _chunks(jobs, n)))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("koarena.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = lambda v: Markup(script_json(v))
    return env


def _write_pages(
    output: Path, bench_name: str, page: dict[str, Any], analysis: dict[str, Any] | None
) -> tuple[int, int | None]:
    """Write the HTML pages and assets; returns the size of index.html plus its assets and
    that of analysis.html (None if there is no analysis: then no page and no link to it)."""
    env = _environment()
    common = {"bench": bench_name, "has_analysis": analysis is not None}
    index = env.get_template("index.html").render(page=page, current="index", **common)
    browse = env.get_template("browse.html").render(current="browse", **common)
    (output / "index.html").write_text(index, "utf-8")
    (output / "browse.html").write_text(browse, "utf-8")
    analysis_bytes = None
    path = output / "analysis.html"
    if analysis is None:
        path.unlink(missing_ok=True)
    else:
        text = env.get_template("analysis.html").render(
            analysis=analysis, current="analysis", **common
        ).encode("utf-8")
        path.write_bytes(text)
        analysis_bytes = len(text)
    assets = output / "assets"
    assets.mkdir(exist_ok=True)
    static = resources.files("koarena.report") / "static"
    size = len(index.encode("utf-8"))
    for name in ASSETS:
        data = (static / name).read_bytes()
        (assets / name).write_bytes(data)
        if name in INDEX_ASSETS:
            size += len(data)
    return size, analysis_bytes
