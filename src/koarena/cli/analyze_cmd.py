"""``koarena analyze``: judge reliability, separability, per-cluster results, Korean fidelity."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import orjson
from rich.markup import escape
from rich.table import Table

from koarena.analysis import AnalyzeOptions, analyze
from koarena.analysis.self_preference import (
    DEFAULT_FAMILIES,
    DEFAULT_SELF_PREFERENCE_ROUNDS,
    parse_family,
)
from koarena.cli.commands import command_help
from koarena.cli.common import add_bench_options, bench_from_args, console
from koarena.cli.fitting import add_bootstrap_options
from koarena.errors import ConfigError
from koarena.korean import DEFAULT_THRESHOLD
from koarena.outfile import atomic_open_bytes, check_writable


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "analyze",
        help=command_help("analyze"),
        description=(
            "Analyses the leaderboard does not show: position consistency and bias of each "
            "judge, agreement between judges, judges' preference for their own model family, "
            "separability of the leaderboard (and agreement with a reference leaderboard), "
            "each model's win rate per topic cluster, and how much of each model's answers is "
            "Korean. Metrics that need per-judge verdict files say so when only the ensemble's "
            "are on disk."
        ),
    )
    add_bench_options(p)
    p.add_argument(
        "--judge", dest="judges", nargs="+", metavar="JUDGE",
        help="judgment directories to analyse (default: every directory in model_judgment/)",
    )
    p.add_argument(
        "--leaderboard-judge", dest="board_judges", nargs="+", metavar="JUDGE",
        help="judges whose pooled verdicts make the leaderboard for separability and clusters "
        "(default: ensemble if present, else all --judge)",
    )
    p.add_argument("--baseline", help="baseline model (default: from judge_config.yaml)")
    p.add_argument(
        "-c", "--category",
        help="on a bench with categories (Arena-Hard v2.0): the category to analyse, against "
        "its own baseline (default: the first of the questions' categories)",
    )
    p.add_argument(
        "--reference", type=Path, metavar="FILE",
        help="reference leaderboard CSV with columns model,score (optionally lower,upper: a "
        "95%% interval), e.g. a human-preference leaderboard: agreement with confidence, "
        "Spearman and Kendall correlation and Brier scores on the models both have",
    )
    p.add_argument(
        "--family", dest="families", action="append", metavar="JUDGE_GLOB=MODEL_GLOB[,...]",
        help="a judge's own model family for self-preference; repeatable; replaces the "
        "defaults: " + "; ".join(f"{r.judge}={','.join(r.models)}" for r in DEFAULT_FAMILIES),
    )
    add_bootstrap_options(p, what="bootstrap rounds of the leaderboard fits")
    p.add_argument(
        "--self-preference-rounds", type=int, default=DEFAULT_SELF_PREFERENCE_ROUNDS,
        help="bootstrap rounds of the self-preference intervals (default: %(default)s)",
    )
    p.add_argument(
        "--korean-threshold", type=float, default=DEFAULT_THRESHOLD,
        help="share of Korean words below which an answer is not primarily Korean "
        f"(default: {DEFAULT_THRESHOLD})",
    )
    p.add_argument("--output", type=Path, metavar="FILE.json", help="write the results as JSON")
    p.set_defaults(func=run)


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100.0 * x:.{digits}f}"


def _num(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def _note(title: str, section: dict[str, Any]) -> bool:
    """Print why a section is unavailable; True if it is available."""
    if section.get("available"):
        return True
    console.print(f"[bold]{title}[/]: [yellow]not available[/] — {escape(section['reason'])}")
    return False


def _table(title: str, columns: Sequence[str], left: Collection[str]) -> Table:
    """A table whose columns are right-aligned (numbers) except those named in ``left``."""
    t = Table(title=title)
    for col in columns:
        t.add_column(col, justify="left" if col in left else "right")
    return t


def _print_positions(section: dict[str, Any]) -> None:
    t = _table("Position consistency and bias",
               ("judge", "judgments", "consistent %", "exactly consistent %",
                "first shown wins %", "first shown, of decisive %"), left=("judge",))
    for r in section["judges"]:
        t.add_row(escape(r["judge"]), str(r["judgments"]), _pct(r["consistency"]),
                  _pct(r["exact_consistency"]), _pct(r["first_win_share"]),
                  _pct(r["first_decisive_share"]))
    console.print(t)


def _print_agreement(section: dict[str, Any]) -> None:
    if not _note("Judge agreement", section):
        return
    t = _table("Judge agreement (games both labelled)",
               ("judge A", "judge B", "games", "exact %", "winner %", "kappa", "winner kappa"),
               left=("judge A", "judge B"))
    for r in section["pairs"]:
        t.add_row(escape(r["judge_a"]), escape(r["judge_b"]), str(r["games"]), _pct(r["exact"]),
                  _pct(r["winner"]), _num(r["kappa"], 3), _num(r["winner_kappa"], 3))
    console.print(t)


def _print_self_preference(section: dict[str, Any]) -> None:
    if not _note("Self-preference", section):
        return
    t = _table("Self-preference (win rate under the judge − under the other judges, pp)",
               ("judge", "model", "questions", "own judge %", "others %", "difference", "95% CI"),
               left=("judge", "model"))
    for r in section["rows"]:
        t.add_row(escape(r["judge"]), escape(r["model"]), str(r["questions"]),
                  _num(r["win_rate_self"]),
                  _num(r["win_rate_others"]), _num(r["difference"]),
                  f"[{r['lower']:.2f}, {r['upper']:.2f}]")
    console.print(t)


def _print_separability(section: dict[str, Any]) -> None:
    if not _note("Separability", section):
        return
    cols = ["control", "models", "pairs", "separated", "separability %"]
    with_ref = any("reference" in e for e in section["controls"].values())
    if with_ref:
        cols += ["agreement w/ CI %", "Spearman", "Kendall", "Brier", "rank Brier"]
    t = _table(escape(f"Separability (judges: {', '.join(section['judges'])}, "
                      f"{section['rounds']} bootstrap rounds)"), cols, left=("control",))
    for name, e in section["controls"].items():
        row = [name, str(e["models"]), str(e["pairs"]), str(e["separated_pairs"]),
               _pct(e["separability"])]
        if with_ref:
            ref = e["reference"]
            row += [_pct(ref["agreement_with_confidence"]), _num(ref["spearman"], 3),
                    _num(ref["kendall"], 3), _num(ref["brier"], 3), _num(ref["rank_brier"], 3)]
        t.add_row(*row)
    console.print(t)


def _print_clusters(section: dict[str, Any]) -> None:
    if not _note("Clusters", section):
        return
    t = Table(title=f"Weakest clusters per model ({section['clusters']} clusters, "
              f"{section['questions_per_cluster']['min']}–"
              f"{section['questions_per_cluster']['max']} questions each; win rate %)")
    t.add_column("model")
    t.add_column("weakest clusters")
    for model, m in section["models"].items():
        t.add_row(escape(model), escape("; ".join(f"{w['cluster']} {w['win_rate']:.0f}"
                                                  for w in m["weakest"])))
    console.print(t)


def _print_korean(section: dict[str, Any]) -> None:
    if not _note("Korean fidelity", section):
        return
    t = _table("Korean fidelity (prose outside code, URLs and math; lowest share first)",
               ("model", "answers", "Hangul share %", "raw share %", "not Korean",
                "…baseline Korean", "intrusions", "answers w/ intr.", "by script"),
               left=("model", "by script"))
    for r in section["models"]:
        drift = r["not_korean_where_baseline_korean"]
        t.add_row(
            escape(r["model"]), str(r["scored"]), _pct(r["mean_hangul_share"]),
            _pct(r["mean_raw_hangul_share"]), str(r["not_korean"]),
            "–" if drift is None else str(drift), str(r["intrusions"]),
            str(r["answers_with_intrusions"]),
            " ".join(f"{k}:{v}" for k, v in r["intrusions_by_script"].items()),
        )
    console.print(t)


def run(args: argparse.Namespace) -> int:
    if args.output is not None and args.output.suffix.lower() != ".json":
        raise ConfigError(f"--output must end in .json, got {args.output.name!r}")
    if args.output is not None:
        check_writable(args.output)  # before the analysis, not after it
    families = (
        tuple(parse_family(f) for f in args.families) if args.families else DEFAULT_FAMILIES
    )
    opts = AnalyzeOptions(
        judges=args.judges,
        board_judges=args.board_judges,
        baseline=args.baseline,
        reference=args.reference,
        families=families,
        rounds=args.rounds,
        self_preference_rounds=args.self_preference_rounds,
        seed=args.seed,
        korean_threshold=args.korean_threshold,
        category=args.category,
    )
    result = analyze(bench_from_args(args), opts)
    if result["category"]:
        console.print(f"category {result['category']} · baseline {result['baseline']}",
                      highlight=False, markup=False)
    _print_positions(result["position_consistency"])
    _print_agreement(result["judge_agreement"])
    _print_self_preference(result["self_preference"])
    _print_separability(result["separability"])
    _print_clusters(result["clusters"])
    _print_korean(result["korean_fidelity"])
    if args.output is not None:
        with atomic_open_bytes(args.output) as fh:
            fh.write(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        console.print(f"wrote {args.output}", markup=False)
    return 0
