"""``koarena run``: one model through answer → judges → ensemble → leaderboard."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from koarena.bench import Bench, resolve_data_dir
from koarena.categories import bench_categories
from koarena.cli.commands import command_help
from koarena.cli.common import (
    add_batch_options,
    add_data_dir_option,
    add_retry_options,
    console,
    err_console,
)
from koarena.cli.fitting import add_bootstrap_options, add_control_option, board_heading
from koarena.cli.judge_cmd import report_missing_baselines
from koarena.cli.runs import stage_runner
from koarena.config import load_answer_settings, load_endpoints, load_judge_settings
from koarena.controls import Control
from koarena.errors import ConfigError
from koarena.judging import select_judges
from koarena.leaderboard import Leaderboard
from koarena.pipeline import run_pipeline


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help=command_help("run"),
        description=(
            "Run one model through the benchmark: answer every question, have every configured "
            "judge compare the answers with the baseline's, combine the judges' verdicts "
            "into model_judgment/ensemble/<model>.jsonl, and print the model's leaderboard row "
            "and rank among the models already in the data directory. Every stage resumes "
            "where a previous run stopped; a stage with failures stops the run (exit code 1)."
        ),
    )
    p.add_argument("--model", required=True, help="the model to evaluate (endpoint-file name)")
    p.add_argument(
        "--setting-file",
        "--answer-setting-file",
        dest="setting_file",
        required=True,
        type=Path,
        help="answer settings (gen_answer_config.yaml: bench_name, temperature, max_tokens)",
    )
    p.add_argument(
        "--judge-setting-file",
        type=Path,
        help="judge settings (default: the bench's own judge_config.yaml)",
    )
    p.add_argument(
        "--endpoint-file",
        required=True,
        type=Path,
        help="endpoint file (api_config.yaml) with the model and the judges",
    )
    p.add_argument(
        "--judge",
        dest="judges",
        nargs="+",
        metavar="JUDGE",
        help="judges (endpoint-file names; default: the judge settings' judge_model)",
    )
    add_data_dir_option(p)
    add_control_option(p)
    add_bootstrap_options(p)
    add_retry_options(p)
    add_batch_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.rounds < 0:
        raise ConfigError("--rounds must be 0 or more")
    answer_settings = load_answer_settings(args.setting_file)
    bench = Bench(resolve_data_dir(args.data_dir), answer_settings.bench_name)
    bench.require()
    judge_settings = load_judge_settings(
        args.judge_setting_file, default_protocol=bench.judge_config_file,
        bench_categories=bench_categories(bench),
    )
    if judge_settings.bench_name != bench.name:
        raise ConfigError(
            f"the answer settings name bench {bench.name!r} but the judge settings "
            f"{judge_settings.bench_name!r}"
        )
    endpoints = load_endpoints(args.endpoint_file)
    if args.model not in endpoints:
        raise ConfigError(f"model {args.model!r} is not in the endpoint file")
    judges = select_judges(judge_settings, endpoints, args.judges)
    result = run_pipeline(
        bench,
        args.model,
        answer_settings,
        judge_settings,
        stage_runner(args, endpoints),
        judges,
        control=Control(args.control),
        rounds=args.rounds,
        seed=args.seed,
    )
    if result.failed_stage is not None:
        err_console.print(
            f"[bold red]stopped:[/] the {result.failed_stage} stage had failures; run the same "
            "command again to retry only what is missing"
        )
        return result.exit_code
    if result.plan is not None:
        report_missing_baselines(result.plan)
        for reason, n in sorted(result.plan.skipped_counts().items()):
            err_console.print(f"  not judged: {reason}: {n}", highlight=False, markup=False)
    for board in result.boards:
        print_rank(board, args.model, list(judges))
    return 0


def print_rank(board: Leaderboard, model: str, judges: list[str]) -> None:
    """The model's leaderboard row and its rank among all models of the board."""
    row = board.row(model)
    others = len(board.rows) - 1
    console.print(
        board_heading(board),
        highlight=False,
        markup=False,
    )
    table = Table()
    for col in ("rank", "model", "score", "95% CI", "avg tokens"):
        table.add_column(col, justify="left" if col == "model" else "right")
    table.add_row(
        f"{board.rank(model)} / {len(board.rows)}",
        escape(row.model),
        f"{row.score:.2f}",
        row.ci,
        str(row.avg_tokens),
    )
    console.print(table)
    console.print(
        f"{model}: ensemble of {', '.join(judges)}; the {others} other models: the verdicts "
        "already in the data directory",
        highlight=False,
        markup=False,
    )
