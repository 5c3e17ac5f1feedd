"""``koarena ensemble``: combine several judges' verdicts."""

from __future__ import annotations

import argparse

from koarena.cli.commands import command_help
from koarena.cli.common import add_bench_options, bench_from_args, console
from koarena.ensemble import write_ensemble


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "ensemble",
        help=command_help("ensemble"),
        description=(
            "Average the judges' verdicts per game (A>>B=+2 … B>>A=−2, over the judges with a "
            "valid label) and map the mean back to a label, as the published leaderboard does. "
            "Writes model_judgment/ensemble/<model>.jsonl."
        ),
    )
    add_bench_options(p)
    p.add_argument("--judge", dest="judges", nargs="+", required=True, metavar="JUDGE",
                   help="judge directories to combine")
    p.add_argument("--model", dest="models", nargs="+", metavar="MODEL",
                   help="models to combine (default: every model all judges have judged)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bench = bench_from_args(args)
    bench.require()
    s = write_ensemble(bench, args.judges, args.models)
    console.print(
        f"ensemble of {', '.join(args.judges)}: {s.models} models, {s.judgments} judgments, "
        f"{s.dropped_games} games dropped (no judge gave a valid verdict)", markup=False
    )
    for judge, n in sorted(s.missing.items()):
        console.print(f"  judge {judge} lacks {n} judgments; combined from the others",
                      markup=False)
    return 0
