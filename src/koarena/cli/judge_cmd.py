"""``koarena judge``: ask the judges to compare each model's answers with the baseline's."""

from __future__ import annotations

import argparse
from pathlib import Path

from koarena.bench import DEFAULT_BENCH, Bench, resolve_data_dir
from koarena.categories import bench_categories
from koarena.cli.commands import command_help
from koarena.cli.common import (
    add_batch_options,
    add_data_dir_option,
    add_endpoint_file_option,
    add_retry_options,
    err_console,
)
from koarena.cli.runs import report_estimate, stage_runner
from koarena.config import JudgeSettings, ModelEndpoint, load_endpoints, load_judge_settings
from koarena.errors import ConfigError
from koarena.judge_protocol import JudgeProtocol
from koarena.judging import (
    JudgePlan,
    dry_run,
    expected_reply_tokens,
    judge,
    plan_judging,
    select_judges,
    select_models,
    unparsed_games,
)
from koarena.yamlfile import load_mapping


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "judge",
        help=command_help("judge"),
        description=(
            "For every question a model has answered, ask each judge for two games (the "
            "baseline's answer shown first, then second) and append the verdicts to "
            "model_judgment/<judge>/<model>.jsonl. Only missing judgments are requested. A "
            "reply without a usable verdict gets a follow-up turn; after the configured "
            "attempts the game is stored unparsed with its reason. Answers that are missing, "
            "empty or the failure marker $ERROR$ are not judged and are reported. Failed "
            "requests go to logs/judge_failures.jsonl; exit code 1 if anything failed."
        ),
    )
    p.add_argument(
        "--setting-file",
        required=True,
        type=Path,
        help="judge settings (judge_config.yaml keys); missing keys come from the bench's own "
        "judge_config.yaml",
    )
    add_endpoint_file_option(p)
    p.add_argument(
        "--judge",
        dest="judges",
        nargs="+",
        metavar="JUDGE",
        help="judges (endpoint-file names; default: the settings' judge_model)",
    )
    p.add_argument(
        "--model",
        dest="models",
        nargs="+",
        metavar="MODEL",
        help="models to judge (default: the settings' model_list)",
    )
    add_data_dir_option(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print requests, tokens and dollars the run would take; send nothing",
    )
    add_retry_options(p)
    add_batch_options(p)
    p.set_defaults(func=run)


def bench_name_of(setting_file: Path) -> str:
    """The setting file's ``bench_name``, needed first to find the bench's default protocol."""
    raw = load_mapping(setting_file, ConfigError)
    return str(raw.get("bench_name") or DEFAULT_BENCH)


def load_setup(setting_file: Path, data_dir: str | None) -> tuple[Bench, JudgeSettings]:
    """The bench and the judge settings merged over the bench's own judge_config.yaml."""
    bench = Bench(resolve_data_dir(data_dir), bench_name_of(setting_file))
    bench.require()
    settings = load_judge_settings(
        setting_file, default_protocol=bench.judge_config_file,
        bench_categories=bench_categories(bench),
    )
    return bench, settings


def report_missing_baselines(plan: JudgePlan) -> None:
    """Per category, the questions whose baseline answer is missing (said before sending)."""
    for m in plan.missing_baselines:
        err_console.print(
            f"category {m.category}: baseline {m.baseline} has no answer for {m.missing} of "
            f"{m.questions} questions, which are not judged",
            highlight=False, markup=False,
        )


def report_dry_run(bench: Bench, plan: JudgePlan, judges: dict[str, str],
                   endpoints: dict[str, ModelEndpoint]) -> None:
    """The dry-run estimate: one table, or one per category on a bench with categories."""
    expected = expected_reply_tokens(bench, judges)
    groups = plan.by_category()
    if list(groups) == [None]:
        report_estimate(dry_run(plan, expected), endpoints, err_console)
        return
    baselines = {r.category: r.baseline for r in plan.routes}
    for category, tasks in groups.items():
        if not tasks:
            continue
        err_console.print(f"category {category} (baseline {baselines[category]}):",
                          highlight=False, markup=False)
        report_estimate(dry_run(JudgePlan(tasks=tasks), expected), endpoints, err_console)


def report_plan(plan: JudgePlan) -> None:
    """Say which answers were not judged and why (they are never sent to a judge)."""
    for model, by_reason in sorted(plan.skipped.items()):
        for reason, ids in sorted(by_reason.items()):
            err_console.print(
                f"  not judged ({model}): {reason}: {len(ids)}", highlight=False, markup=False
            )


def run(args: argparse.Namespace) -> int:
    bench, settings = load_setup(args.setting_file, args.data_dir)
    endpoints = load_endpoints(args.endpoint_file)
    judges = select_judges(settings, endpoints, args.judges)
    models = select_models(settings, args.models)
    plan = plan_judging(
        bench, JudgeProtocol.from_settings(settings), judges, models, settings.baseline_model,
        categories=settings.categories,
    )
    report_missing_baselines(plan)
    if args.dry_run:
        report_dry_run(bench, plan, judges, endpoints)
        report_plan(plan)
        return 0
    result = judge(bench, plan, stage_runner(args, endpoints))
    report_plan(plan)
    for (judge_name, model), n in sorted(unparsed_games(bench, judges, models).items()):
        err_console.print(
            f"  unparsed games ({judge_name} on {model}): {n} (no usable verdict; see "
            "unparsed_reason)",
            highlight=False,
            markup=False,
        )
    return result.exit_code
