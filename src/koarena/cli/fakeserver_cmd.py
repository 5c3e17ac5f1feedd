"""``koarena fake-server``: a fake model server (OpenAI, Anthropic, Gemini) on 127.0.0.1."""

from __future__ import annotations

import argparse
from pathlib import Path

from koarena.cli.commands import command_help
from koarena.runner.run import run_async
from koarena.testing import FAULTS, ROUTES, FakeConfig, serve_forever

DEFAULT_PORT = 8000


def _epilog() -> str:
    defaults = FakeConfig()
    lines = ["routes:", *(f"  {route}\n      {what}" for route, what in ROUTES), "",
             "defaults:",
             f"  port {DEFAULT_PORT}, latency {defaults.latency:g} s, "
             f"answer_tokens {defaults.answer_tokens} (words per fake answer), no faults",
             "",
             "fault kinds (--script: faults: [{kind, match, model, times, after, retry_after}];",
             "a rule hits `times` requests whose last user message contains `match`, after",
             "letting the first `after` of them through):",
             *(f"  {kind:<11} {what}" for kind, what in FAULTS.items()), "",
             "Models named *-think put <think> reasoning in the content, *-reasoner in",
             "reasoning_content."]
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fake-server",
        help=command_help("fake-server"),
        description=(
            "A fake model server: deterministic answers, verdicts for judge prompts, usage,\n"
            "streaming, latency and scripted faults, over the OpenAI, Anthropic and Gemini APIs.\n"
            "Runs until interrupted."
        ),
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port (0 = any free port; default {DEFAULT_PORT})")
    p.add_argument("--latency", type=float,
                   help="seconds before each response (overrides the script's; default 0)")
    p.add_argument("--script", type=Path,
                   help="YAML script: latency, answer_tokens, faults: [{kind, match, model, "
                        "times, after, retry_after}]")
    p.add_argument("--port-file", type=Path, help="write the bound port here")
    p.add_argument("--request-log", type=Path, help="append one JSON line per request here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = FakeConfig.from_file(args.script) if args.script else FakeConfig()
    if args.latency is not None:
        config.latency = args.latency
    config.request_log = args.request_log
    # Loopback only: this server exists for tests and demos on this machine.
    run_async(serve_forever(config, "127.0.0.1", args.port, args.port_file))
    return 0
