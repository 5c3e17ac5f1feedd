"""The commands: name, module and help line, in pipeline order as ``koarena --help`` lists
them: get (or translate) the data, answer, judge (or import a batch's results), ensemble, rank
(``run`` does those for one model), publish, analyse; the fake server last.

Kept apart from the modules so that listing the commands imports none of them: a command
imports only what it needs (the analysis, the report builder and the HTTP clients each cost a
few tenths of a second to import, on every start).
"""

from __future__ import annotations

import importlib
from types import ModuleType

COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("data_cmd", "fetch the benchmark data or check it"),
    "translate": ("translate_cmd",
                  "translate a bench into Korean (question.jsonl, judge settings), with checks"),
    "answer": ("answer_cmd", "generate model answers (model_answer/<model>.jsonl), resumable"),
    "judge": ("judge_cmd", "judge model answers against the baseline "
                           "(model_judgment/<judge>/<model>.jsonl)"),
    "import-batch": ("import_batch_cmd", "import a batch runner's output (vLLM run-batch) "
                                         "written for --batch-file"),
    "ensemble": ("ensemble_cmd", "combine several judges' verdicts into model_judgment/ensemble/"),
    "leaderboard": ("leaderboard_cmd",
                    "compute the leaderboard (win rate vs the baseline, bootstrap 95%% CI)"),
    "run": ("run_cmd", "answer, judge, ensemble and rank one model among the published models"),
    "report": ("report_cmd", "write the leaderboard and judgment browser as a static site"),
    "serve": ("serve_cmd", "serve a report site on 127.0.0.1"),
    "analyze": ("analyze_cmd",
                "judge reliability, separability, per-cluster win rates and Korean fidelity"),
    "fake-server": ("fakeserver_cmd", "serve a deterministic fake model (OpenAI, Anthropic, "
                                      "Gemini) on 127.0.0.1 (tests, offline demo)"),
}


def command_help(name: str) -> str:
    """The help line of command ``name`` (argparse's ``%`` escapes included)."""
    return COMMANDS[name][1]


def command_module(name: str) -> ModuleType:
    """The module of command ``name``, which defines ``register(subparsers)``."""
    return importlib.import_module(f"koarena.cli.{COMMANDS[name][0]}")
