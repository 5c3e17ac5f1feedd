"""``koarena leaderboard``: verdicts → Bradley–Terry win rates against the baseline."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rich.markup import escape
from rich.table import Table

from koarena.bench import Bench
from koarena.categories import bench_categories
from koarena.cli.commands import command_help
from koarena.cli.common import (
    add_bench_options,
    bench_from_args,
    console,
    err_console,
    progress_bar,
)
from koarena.cli.fitting import add_bootstrap_options, add_control_option, board_heading
from koarena.controls import DEFAULT_CONTROL, STANDARD_CONTROLS, Control
from koarena.ensemble import ENSEMBLE_JUDGE
from koarena.errors import ConfigError
from koarena.leaderboard import (
    Leaderboard,
    compute_category_leaderboards,
    compute_leaderboards,
    write_csv,
    write_output,
)
from koarena.outfile import check_writable
from koarena.rating import Resample
from koarena.verdicts import DEFAULT_WEIGHT

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "leaderboard",
        help=command_help("leaderboard"),
        description=(
            "Turn judge verdicts into a Bradley–Terry leaderboard: each model's win rate "
            "against the baseline in %, with a bootstrap 95% confidence interval, optionally "
            "discounting answer length and markdown (style control). The original tool's flag "
            "names are accepted too."
        ),
    )
    add_bench_options(p, "-b", "--benchmark")
    p.add_argument(
        "-c", "--category", dest="categories", nargs="+", metavar="CATEGORY",
        help="on a bench with categories (a judge_settings.yaml, as Arena-Hard v2.0): the "
        "categories to show, each against its own baseline (default: one table per question "
        "category, e.g. hard_prompt and creative_writing; coding and math select subcategories)",
    )
    p.add_argument(
        "-f", "--control-features", dest="control_features", nargs="+",
        choices=["length", "markdown"], metavar="FEATURE",
        help="the original v2.0 spelling of the control: length, markdown or both (= style)",
    )
    p.add_argument(
        "--judge",
        "--judge-name",
        "--judge-names",
        "-j",
        dest="judges",
        nargs="+",
        default=[ENSEMBLE_JUDGE],
        metavar="JUDGE",
        help=f"judgment directories to use; several are pooled (default: {ENSEMBLE_JUDGE})",
    )
    p.add_argument(
        "--baseline",
        help="baseline model (default: the bench's judge_config.yaml baseline_model)",
    )
    add_control_option(
        p, more=f"all: {', '.join(c.value for c in STANDARD_CONTROLS)} in one run, like the "
        "original gen_result.py"
    )
    p.add_argument(
        "--style-control", dest="alias_control", action="store_const",
        const=Control.STYLE.value, help="alias of --control style",
    )
    p.add_argument(
        "--length-control-only", dest="alias_control", action="store_const",
        const=Control.LENGTH.value, help="alias of --control length",
    )
    p.add_argument(
        "--markdown-control-only", dest="alias_control", action="store_const",
        const=Control.MARKDOWN.value, help="alias of --control markdown",
    )
    add_bootstrap_options(p, aliases=("--num-rounds",))
    p.add_argument(
        "--resample",
        choices=[r.value for r in Resample],
        default=Resample.BATTLES.value,
        help="bootstrap unit: single battles as the original tool (default), or whole "
        "questions (a question's battles are correlated)",
    )
    p.add_argument(
        "--weight", type=int, default=DEFAULT_WEIGHT,
        help="how many battles a strong win (A>>B, B>>A) counts as (default: %(default)s)",
    )
    p.add_argument(
        "--first-game-only", action="store_true",
        help="use only game 1 of each judgment (baseline shown as assistant A)",
    )
    p.add_argument(
        "--drop-lone-games", action="store_true",
        help="drop game 2 of a judgment that has only one game (the original tool, and so the "
        "published leaderboard, reads game 1 a second time as game 2)",
    )
    p.add_argument(
        "--korean", action="store_true",
        help="add Korean-fidelity columns: mean Hangul share of the answers' prose (%%) and "
        "answers not primarily in Korean where the baseline's was (scans every answer)",
    )
    p.add_argument(
        "--output", type=Path,
        help="also write the leaderboard: CSV if the name ends in .csv, JSON if .json",
    )
    p.add_argument(
        "--output-dir", type=Path,
        help="also write <control>.csv per control (no_control.csv, style_control.csv, …), "
        "the original tool's file names",
    )
    p.set_defaults(func=run)


def _controls(args: argparse.Namespace) -> list[Control]:
    alias = args.alias_control
    if args.control_features:
        features = set(args.control_features)
        from_features = "style" if len(features) == 2 else features.pop()
        if alias and alias != from_features:
            raise ConfigError(f"--control-features contradicts the alias for {alias}")
        alias = from_features
    if args.control and alias and args.control != alias:
        raise ConfigError(f"--control {args.control} contradicts the alias for {alias}")
    choice = args.control or alias or DEFAULT_CONTROL.value
    return list(STANDARD_CONTROLS) if choice == "all" else [Control(choice)]


def run(args: argparse.Namespace) -> int:
    controls = _controls(args)
    if args.output is not None and len(controls) > 1:
        raise ConfigError("--output takes one control; use --output-dir with --control all")
    if args.rounds < 0:
        raise ConfigError("--rounds must be 0 or more")
    if args.weight < 1:
        raise ConfigError("--weight must be at least 1")
    if args.output is not None and args.output.suffix.lower() not in {".csv", ".json"}:
        raise ConfigError(f"--output must end in .csv or .json, got {args.output.name!r}")
    # Fail before the bootstrap, not after it, when an output cannot be written.
    if args.output is not None:
        check_writable(args.output)
    if args.output_dir is not None:
        for control in controls:
            check_writable(args.output_dir / f"{control.csv_name}.csv")
    bench = bench_from_args(args)
    if args.categories or bench_categories(bench):
        return _run_categories(args, bench, controls)
    boards = _bootstrap(
        args,
        compute_leaderboards,
        bench,
        controls,
        baseline=args.baseline,
        first_game_only=args.first_game_only,
        reuse_lone_game=not args.drop_lone_games,
    )
    return _emit(args, [(board, Path(f"{c.csv_name}.csv")) for c, board in boards.items()])


def _bootstrap(
    args: argparse.Namespace,
    compute: Callable[..., T],
    bench: Bench,
    controls: list[Control],
    **options: Any,
) -> T:
    """``compute(bench, controls, ...)`` under the bootstrap progress bar, given the bootstrap
    options both kinds of board take from the command line, plus ``options``."""
    with progress_bar("bootstrap") as update:
        return compute(
            bench,
            controls,
            judges=args.judges,
            rounds=args.rounds,
            seed=args.seed,
            weight=args.weight,
            resample=Resample(args.resample),
            korean=args.korean,
            progress=lambda _c: update,
            **options,
        )


def _emit(args: argparse.Namespace, boards: list[tuple[Leaderboard, Path]]) -> int:
    """Print the boards; write the first to ``--output`` and each to its file name under
    ``--output-dir``."""
    for board, _ in boards:
        print_board(board)
    if args.output is not None:
        write_output(boards[0][0], args.output)
        err_console.print(f"wrote {args.output}", markup=False)
    if args.output_dir is not None:
        for board, name in boards:
            path = args.output_dir / name
            write_csv(board, path)
            err_console.print(f"wrote {path}", markup=False)
    return 0


def _run_categories(args: argparse.Namespace, bench: Bench, controls: list[Control]) -> int:
    """A bench with categories: one board per category and control, never a mix of baselines."""
    if args.baseline:
        raise ConfigError("--baseline does not apply to a bench with categories: each "
                          "category's baseline comes from its judge_settings.yaml")
    if args.first_game_only or args.drop_lone_games:
        raise ConfigError("--first-game-only and --drop-lone-games do not apply to a bench "
                          "with categories (v2.0 counts a judgment only with both games)")
    if args.output is not None and (args.categories is None or len(args.categories) != 1):
        raise ConfigError("--output takes one category; use --output-dir for several")
    boards = _bootstrap(
        args, compute_category_leaderboards, bench, controls, categories=args.categories
    )
    return _emit(args, [
        (board, Path(category) / f"{control.csv_name}.csv")
        for category, by_control in boards.items()
        for control, board in by_control.items()
    ])


def print_board(board: Leaderboard) -> None:
    """The leaderboard as a table under a line saying how it was fitted, and a line on dropped
    and flagged data."""
    resampled = f" ({board.resample.value} resampled)" if board.rounds else ""
    console.print(
        f"{board_heading(board)}{resampled}",
        highlight=False,
        markup=False,
    )
    table = Table()
    table.add_column("#", justify="right")
    table.add_column("model")
    table.add_column("score", justify="right")
    table.add_column("95% CI", justify="right")
    table.add_column("avg tokens", justify="right")
    korean = any(r.korean_share is not None for r in board.rows)
    if korean:
        table.add_column("Korean %", justify="right")
        table.add_column("non-Korean", justify="right")
    for i, r in enumerate(board.rows, 1):
        style = "bold" if r.model == board.baseline else None
        cells = [str(i), escape(r.model), f"{r.score:.2f}", r.ci, str(r.avg_tokens)]
        if korean:
            cells += [
                "" if r.korean_share is None else f"{r.korean_share:.1f}",
                "" if r.not_korean is None else str(r.not_korean),
            ]
        table.add_row(*cells, style=style)
    console.print(table)
    if board.style_coefficients:
        coefs = ", ".join(f"{k} {v:+.3f}" for k, v in board.style_coefficients.items())
        console.print(f"style coefficients: {coefs}", markup=False)
    failed = sum(r.failed_answers for r in board.rows)
    empty = sum(r.empty_answers for r in board.rows)
    cut = sum(r.truncated_answers for r in board.rows)
    filtered = sum(r.filtered_answers for r in board.rows)
    console.print(
        f"{board.n_battles} battles from {len(board.rows)} models · "
        f"games dropped (missing or unknown verdict): {board.dropped_games} · "
        f"judgments with a single game: {board.battles.lone_games} · "
        f"flagged answers: {board.flagged_answers} ({failed} failed-call markers, {empty} "
        f"empty, {cut} cut off at the token limit, {filtered} filtered; "
        "see 'koarena data check')"
    )
