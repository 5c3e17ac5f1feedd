"""``koarena answer``: ask models the benchmark's questions."""

from __future__ import annotations

import argparse
from pathlib import Path

from koarena.answering import answer, dry_run, select_models
from koarena.bench import Bench, resolve_data_dir
from koarena.cli.commands import command_help
from koarena.cli.common import (
    add_batch_options,
    add_data_dir_option,
    add_endpoint_file_option,
    add_retry_options,
    err_console,
)
from koarena.cli.runs import report_estimate, stage_runner
from koarena.config import load_answer_settings, load_endpoints


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "answer",
        help=command_help("answer"),
        description=(
            "Ask each model every question it has not answered yet and append its answers to "
            "model_answer/<model>.jsonl in the arena-hard v0.1 format, with conv_metadata. "
            "Failed requests are never written as answers: they go to logs/answer_failures.jsonl "
            "and the next run retries them. Exit code 1 if anything failed."
        ),
    )
    p.add_argument("--setting-file", required=True, type=Path,
                   help="answer settings (gen_answer_config.yaml: bench_name, temperature, "
                        "max_tokens, num_choices, model_list)")
    add_endpoint_file_option(p)
    p.add_argument("--model", dest="models", nargs="+", metavar="MODEL",
                   help="models to answer (default: the setting file's model_list)")
    add_data_dir_option(p)
    p.add_argument("--dry-run", action="store_true",
                   help="print requests, tokens and dollars the run would take; send nothing")
    add_retry_options(p)
    add_batch_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_answer_settings(args.setting_file)
    endpoints = load_endpoints(args.endpoint_file)
    bench = Bench(resolve_data_dir(args.data_dir), settings.bench_name)
    bench.require()
    models = select_models(settings, endpoints, args.models)
    if args.dry_run:
        report_estimate(dry_run(bench, models, settings), endpoints, err_console)
        return 0
    return answer(bench, models, settings, stage_runner(args, endpoints)).exit_code
