"""``koarena translate``: make a Korean bench from an English one, with quality checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from koarena.bench import Bench, resolve_data_dir
from koarena.cli.commands import command_help
from koarena.cli.common import (
    add_data_dir_option,
    add_endpoint_file_option,
    add_retry_options,
    err_console,
)
from koarena.cli.runs import ConsoleObserver, report_estimate, retry_policy
from koarena.config import load_endpoints
from koarena.errors import ConfigError
from koarena.runner.run import StageRunner
from koarena.translation.checks import FLAGS
from koarena.translation.judge_files import JUDGE_PROMPTS
from koarena.translation.review import REVIEW_FILE, write_review
from koarena.translation.stage import (
    DEFAULT_MAX_TOKENS,
    FlagSummary,
    TranslateSettings,
    dry_run,
    translate,
)
from koarena.translation.task import DEFAULT_MASK_ATTEMPTS

KOREAN_REFERENCE_BENCH = "ko-arena-hard-v0.1"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "translate",
        help=command_help("translate"),
        description=(
            "Translate every question of the bench --from into Korean with --model and write "
            "<data-dir>/<--to>/question.jsonl: same ids, categories and format, the source "
            "text, translator and per-turn checks under 'translation'. Code, math, URLs, file "
            "paths, placeholders and numbers are masked before the request and restored after; "
            "a reply that lost or altered a mask is retried, then logged to "
            "logs/translate_failures.jsonl and never written. Checks flag low Hangul share, "
            "English left untranslated, length-ratio outliers, changed code/URL/math, "
            "refusals and answers given instead of translations. Judge files are copied, with "
            "Korean-fluency judge prompts per category. Resumable; exit code 1 if anything "
            "failed."
        ),
    )
    p.add_argument("--from", dest="source", required=True, metavar="BENCH",
                   help="source bench in the data directory (e.g. arena-hard-v2.0)")
    p.add_argument("--to", dest="target", required=True, metavar="BENCH",
                   help="bench to write (e.g. ko-arena-hard-v2.0)")
    p.add_argument("--model", help="translator model, a name in the endpoint file (not "
                                   "needed with --review alone)")
    add_endpoint_file_option(p, required=False)
    add_data_dir_option(p)
    p.add_argument("--temperature", type=float, default=0.0, help="default: 0")
    p.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS,
                   help=f"output limit per turn (default: {DEFAULT_MAX_TOKENS})")
    p.add_argument("--mask-attempts", type=int, default=DEFAULT_MASK_ATTEMPTS,
                   help="tries per turn when a reply loses or alters a mask token "
                        f"(default: {DEFAULT_MASK_ATTEMPTS})")
    p.add_argument("--only-flagged", action="store_true",
                   help="re-translate only the questions whose translation was flagged")
    p.add_argument("--review", nargs="?", const="", metavar="FILE",
                   help=f"write a side-by-side review page (default: <to>/{REVIEW_FILE}); "
                        "without --model only the page is written")
    p.add_argument("--review-flagged-only", action="store_true",
                   help="the review page shows flagged questions only")
    p.add_argument("--judge-prompt", choices=JUDGE_PROMPTS, default="korean",
                   help="judge system prompts of the new bench: the source's with the Korean "
                        "v0.1 fluency instructions added (korean, default) or as they are")
    p.add_argument("--korean-judge-config", type=Path, metavar="FILE",
                   help="the Korean v0.1 judge config the instructions come from (default: "
                        f"<data-dir>/{KOREAN_REFERENCE_BENCH}/judge_config.yaml)")
    p.add_argument("--dry-run", action="store_true",
                   help="print requests, tokens and dollars the run would take; send nothing")
    add_retry_options(p)
    p.set_defaults(func=run)


def print_summary(summary: FlagSummary) -> None:
    err_console.print(f"{summary.translated} of {summary.source} questions translated, "
                      f"{summary.flagged} flagged", highlight=False)
    table = Table()
    table.add_column("flag")
    table.add_column("questions", justify="right")
    for flag in FLAGS:
        table.add_row(flag, str(summary.by_flag[flag]))
    err_console.print(table)


def run(args: argparse.Namespace) -> int:
    data_dir = resolve_data_dir(args.data_dir)
    source = Bench(data_dir, args.source)
    target = Bench(data_dir, args.target)
    source.require()
    code = 0
    if args.model:
        if args.endpoint_file is None:
            raise ConfigError("--endpoint-file is required with --model")
        if args.max_tokens < 1 or args.temperature < 0 or args.mask_attempts < 1:
            raise ConfigError("--max-tokens and --mask-attempts must be at least 1, "
                              "--temperature at least 0")
        endpoints = load_endpoints(args.endpoint_file)
        settings = TranslateSettings(
            temperature=args.temperature, max_tokens=args.max_tokens,
            mask_attempts=args.mask_attempts, judge_prompt=args.judge_prompt,
            korean_reference=args.korean_judge_config
            or data_dir / KOREAN_REFERENCE_BENCH / "judge_config.yaml")
        if args.model not in endpoints:
            raise ConfigError(f"model {args.model!r} is not in the endpoint file")
        if args.dry_run:
            est = dry_run(source, target, args.model, settings, args.only_flagged)
            report_estimate(est, endpoints, err_console)
            return 0
        runner = StageRunner(endpoints, retry=retry_policy(args),
                             observer=ConsoleObserver(err_console))
        outcome = translate(source, target, args.model, settings, runner,
                            only_flagged=args.only_flagged)
        print_summary(outcome.summary)
        code = outcome.result.exit_code
    elif args.review is None:
        raise ConfigError("give --model (and --endpoint-file) to translate, or --review")
    if args.review is not None:
        page = write_review(source, target, Path(args.review) if args.review else None,
                            only_flagged=args.review_flagged_only)
        err_console.print(f"review page: {escape(str(page.path))} ({page.items} questions)",
                          highlight=False)
    return code
