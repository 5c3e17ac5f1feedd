"""``koarena fake-server``: a fake OpenAI-compatible server on 127.0.0.1 for offline runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from koarena.engine import run_async
from koarena.fakeserver import FakeConfig, serve_forever


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fake-server",
        help="serve deterministic fake chat completions on 127.0.0.1 (tests, offline demo)",
        description=(
            "A fake OpenAI-compatible /v1/chat/completions: deterministic answers, verdicts for "
            "judge prompts, usage, streaming, latency and scripted faults (see "
            "koarena.fakeserver). Runs until interrupted."
        ),
    )
    p.add_argument("--port", type=int, default=8000, help="port (0 = any free port)")
    p.add_argument("--latency", type=float, help="seconds before each response")
    p.add_argument("--script", type=Path,
                   help="YAML script: latency, answer_tokens, faults: [{kind, match, model, "
                        "times, retry_after}]")
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
