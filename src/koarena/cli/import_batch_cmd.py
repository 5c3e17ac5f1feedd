"""``koarena import-batch``: the results of batch files back into records.

The same as ``koarena answer|judge … --import-batch OUT.jsonl``: the stage's tasks are
replayed with the setting and endpoint files of the run that wrote the batch file, and each
result is taken by custom id through the checks of an online reply.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from koarena.cli import answer_cmd, judge_cmd
from koarena.cli.commands import command_help


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "import-batch",
        help=command_help("import-batch"),
        description=(
            "Read the output of a batch file that 'koarena answer|judge --batch-file' wrote "
            "(e.g. 'vllm run-batch -i in.jsonl -o out.jsonl') and write the records, with the "
            "same checks as an online run. Give the stage and its options as for that run; "
            "requests of the next round (a judge's follow-up turn) go to --batch-file."
        ),
    )
    p.add_argument("results", nargs="+", type=Path, metavar="OUT.jsonl",
                   help="batch output file(s), every one of this stage so far")
    p.add_argument("stage", choices=["answer", "judge"],
                   help="the stage that wrote the batch file")
    p.add_argument("stage_args", nargs=argparse.REMAINDER,
                   help="that stage's options (--setting-file, --endpoint-file, …)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = answer_cmd if args.stage == "answer" else judge_cmd
    parser = argparse.ArgumentParser(prog=f"koarena import-batch … {args.stage}")
    stage_parser = parser.add_subparsers(dest="command")
    module.register(stage_parser)
    stage_args = parser.parse_args([args.stage, *args.stage_args,
                                    "--import-batch", *map(str, args.results)])
    return int(stage_args.func(stage_args))
