"""``koarena data pull|check``: fetch the benchmark, and report what is wrong with its files."""

from __future__ import annotations

import argparse

from rich.markup import escape
from rich.table import Table

from koarena.cli.commands import command_help
from koarena.cli.common import (
    add_bench_options,
    bench_from_args,
    console,
    err_console,
    sigterm_interrupts,
)
from koarena.datacheck import CheckReport, FileReport, check_bench
from koarena.datapull import DEFAULT_URL, MB, Limits, pull


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("data", help=command_help("data"))
    dsub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    dsub.required = True

    pp = dsub.add_parser(
        "pull",
        help="download the published Korean benchmark into the data directory",
        description=(
            "Download the ko-arena-hard-auto repository archive, take the questions, the "
            "published models' answers, the ensemble verdicts and the judge protocol, verify "
            "them and install them as <data-dir>/<bench>/."
        ),
    )
    add_bench_options(pp)
    pp.add_argument("--url", default=DEFAULT_URL, help=f"archive URL (default: {DEFAULT_URL})")
    pp.add_argument("--sha256", help="expected sha256 of the archive")
    pp.add_argument("--force", action="store_true", help="replace an existing bench directory")
    defaults = Limits()
    pp.add_argument("--max-download", type=_megabytes, default=defaults.download, metavar="MB",
                    help=f"stop a download larger than this (default: {defaults.download // MB})")
    pp.add_argument("--max-file", type=_megabytes, default=defaults.file, metavar="MB",
                    help=f"refuse an archive member that unpacks to more than this "
                    f"(default: {defaults.file // MB})")
    pp.add_argument("--max-unpacked", type=_megabytes, default=defaults.unpacked, metavar="MB",
                    help=f"refuse an archive whose files unpack to more than this in all "
                    f"(default: {defaults.unpacked // MB})")
    pp.add_argument("--max-files", type=int, default=defaults.files, metavar="N",
                    help=f"refuse an archive with more data files than this "
                    f"(default: {defaults.files})")
    pp.set_defaults(func=run_pull)

    pc = dsub.add_parser(
        "check",
        help="report failed-call markers, empty answers, missing/duplicate ids, bad lines",
        description=(
            "Scan every answer and judgment file of the bench and count, per model: answers "
            "that are failed-call markers ($ERROR$), empty answers, missing, duplicate or "
            "unknown question ids, torn or malformed lines, and games without a valid verdict."
        ),
    )
    add_bench_options(pc)
    pc.add_argument("--strict", action="store_true",
                    help="exit with status 1 if any problem is found")
    pc.add_argument("--all", action="store_true", help="list clean files too")
    pc.set_defaults(func=run_check)


def _megabytes(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of MB, got {text!r}")
    return int(value * MB)


def run_pull(args: argparse.Namespace) -> int:
    bench = bench_from_args(args)
    err_console.print(f"downloading {args.url}", markup=False, highlight=False)
    limits = Limits(download=args.max_download, file=args.max_file, unpacked=args.max_unpacked,
                    files=args.max_files)
    with sigterm_interrupts():
        s = pull(bench.data_dir, bench.name, args.url, sha256=args.sha256, force=args.force,
                 limits=limits)
    console.print(
        f"installed {s.bench_dir}: {s.questions} questions, {s.answer_files} answer files, "
        f"{s.judgment_files} ensemble verdict files (archive sha256 {s.sha256})"
    )
    return 0


_COMMON = ["truncated", "filtered", "kept", "records", "missing", "dup", "unknown",
           "malformed", "torn"]
ANSWER_COLUMNS = ["model", "$ERROR$", "empty", *_COMMON]
JUDGMENT_COLUMNS = ["model", "no verdict", *_COMMON]


def _row(name: str, r: FileReport, answers: bool) -> list[str]:
    f = r.flagged
    specific = [str(f.failure_markers), str(f.empty)] if answers else [str(r.unlabelled_games)]
    return [
        escape(name), *specific, str(f.truncated), str(f.filtered), str(f.kept), str(r.records),
        str(r.missing_ids), str(r.duplicate_ids), str(r.unknown_ids),
        str(len(r.malformed_lines)), "yes" if r.torn_tail else "",
    ]


def print_report(report: CheckReport, show_all: bool) -> None:
    groups: list[tuple[str, dict[str, FileReport], bool]] = [("answers", report.answers, True)]
    groups += [(f"judgments: {j}", js, False) for j, js in report.judgments.items()]
    for title, files, answers in groups:
        table = Table(title=escape(f"{title} ({len(files)} files)"), title_justify="left")
        for c in ANSWER_COLUMNS if answers else JUDGMENT_COLUMNS:
            table.add_column(c, justify="left" if c == "model" else "right", no_wrap=True)
        shown = 0
        for name, r in sorted(files.items()):
            if show_all or r.problems:
                table.add_row(*_row(name, r, answers))
                shown += 1
        if shown:
            console.print(table)
        else:
            console.print(f"{title}: {len(files)} files, no problems", markup=False)
        for name, r in sorted(files.items()):
            for lineno, why in r.malformed_lines[:5]:
                console.print(f"  {name}: line {lineno}: {why}", highlight=False, markup=False,
                              soft_wrap=True)
    qf = report.question_file
    if qf is not None and qf.problems:
        console.print(f"questions: {len(qf.malformed_lines)} bad lines", highlight=False)
        for _, why in qf.malformed_lines[:5]:
            console.print(f"  {why}", highlight=False, markup=False, soft_wrap=True)
    totals = {
        "failed-call markers": sum(r.flagged.failure_markers for r in report.answers.values()),
        "empty answers": sum(r.flagged.empty for r in report.answers.values()),
        "cut-off answers": sum(r.flagged.truncated for r in report.answers.values()),
        "filtered answers": sum(r.flagged.filtered for r in report.answers.values()),
        "cut-off or filtered judge replies": sum(
            r.flagged.truncated + r.flagged.filtered
            for js in report.judgments.values() for r in js.values()),
    }
    console.print(
        f"{report.questions} questions; "
        + "; ".join(f"{v} {k}" for k, v in totals.items())
        + f"; {report.problems} problems in all"
    )


def run_check(args: argparse.Namespace) -> int:
    report = check_bench(bench_from_args(args))
    print_report(report, args.all)
    return 1 if args.strict and report.problems else 0
