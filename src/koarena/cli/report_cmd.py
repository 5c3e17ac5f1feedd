"""``koarena report``: the leaderboard and judgment browser as a static, offline site."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from koarena.analysis.separability import read_reference
from koarena.cli.commands import command_help
from koarena.cli.common import add_bench_options, bench_from_args
from koarena.cli.fitting import add_bootstrap_options
from koarena.errors import ConfigError
from koarena.report import build_report

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report",
        help=command_help("report"),
        description=(
            "Write a self-contained static site: index.html (leaderboard under each control, "
            "style+korean included, CI chart, win rate per topic cluster), model.html (one "
            "model: Korean fidelity, weakest clusters, judge agreement), browse.html (each "
            "question with the baseline's and a model's answers, the judges' verdicts and, "
            "on demand, their explanations and reasoning) and analysis.html (the tables of "
            "'koarena analyze'). It works offline, from file:// or from 'koarena serve'. "
            "The site is built beside --output and replaces it only when the build "
            "succeeded; a cache beside it (.<name>.koarena-cache) keeps every rendered "
            "answer, so that a rebuild renders only what changed."
        ),
    )
    add_bench_options(p)
    p.add_argument(
        "--output", "-o", required=True, type=Path, help="directory to write the site to"
    )
    p.add_argument(
        "--judge",
        dest="judges",
        nargs="+",
        metavar="JUDGE",
        help="judgment directories to show, each with its own leaderboard (default: all)",
    )
    p.add_argument(
        "--baseline",
        help="baseline model (default: the bench's judge_config.yaml baseline_model)",
    )
    add_bootstrap_options(p, what="bootstrap rounds of the CIs")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes reading and rendering the input files (default: one per core)",
    )
    p.add_argument(
        "--no-analysis",
        dest="analysis",
        action="store_false",
        help="leave out analysis.html (the analysis of 'koarena analyze': judge reliability, "
        "separability, weakest clusters, Korean fidelity), computed from the data and "
        "leaderboards the build has loaded and fitted anyway",
    )
    p.add_argument(
        "--reference", type=Path, metavar="FILE.csv",
        help="reference leaderboard CSV (model,score[,lower,upper]); the analysis page then "
        "shows the validity metrics of 'koarena analyze --reference' (agreement with "
        "confidence, Spearman, Kendall, Brier)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.reference is not None:
        if not args.analysis:
            raise ConfigError("--reference needs the analysis page; drop --no-analysis")
        read_reference(args.reference)  # a bad file is one line before anything is built
    summary = build_report(
        bench_from_args(args),
        args.output,
        judges=args.judges,
        baseline=args.baseline,
        rounds=args.rounds,
        seed=args.seed,
        workers=args.workers,
        analysis=args.analysis,
        reference=args.reference,
    )
    low, median, high = summary.view_bytes
    log.info(
        "wrote %s: %d questions, %d models, judges %s, controls %s; "
        "index page + assets %.0f kB, data shards %.1f MB (one question with one model's answer: "
        "%.0f kB median, %.0f-%.0f kB), analysis page %s; %s",
        summary.output / "index.html",
        summary.questions,
        summary.models,
        ", ".join(summary.judges),
        ", ".join(summary.controls),
        summary.index_bytes / 1e3,
        summary.shard_bytes / 1e6,
        median / 1e3,
        low / 1e3,
        high / 1e3,
        "left out" if summary.analysis_bytes is None else f"{summary.analysis_bytes / 1e3:.0f} kB",
        "inputs unchanged, previous site relinked" if summary.reused
        else f"{summary.rendered} shards rendered, the rest from the cache",
    )
    return 0
