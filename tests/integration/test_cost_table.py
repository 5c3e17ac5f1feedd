"""The cost table of docs/generation.md, computed from examples/published_judges.yaml and the
shared data: one model (o3-high) judged on ko-arena-hard by the three published judges,
online, in batches, and in batches with the prompt cache."""

from __future__ import annotations

from pathlib import Path

from koarena.bench import Bench
from koarena.config import load_endpoints, load_judge_settings
from koarena.judge_protocol import JudgeProtocol
from koarena.judging import plan_judging
from koarena.providers.base import ChatRequest
from koarena.runner.pool import count_request_tokens
from koarena.style import count_tokens

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "generation.md"
BENCH = "ko-arena-hard-v0.1"
MODEL = "o3-high"
BASELINE = "claude-3.7-sonnet"
REPLY_TOKENS = 700
"""Assumed judge reply length: the published per-judge replies are not in the shared data."""
# Shortest prefix each provider caches by itself (None: no implicit caching on that model).
MIN_CACHED = {"gpt-4o-mini": 1024, "gemini-2.0-flash-001": None, "deepseek-chat-v3-0324": 0}


def cost_table(shared_data: Path) -> str:
    judges = load_endpoints(REPO / "examples" / "published_judges.yaml",
                            env={"DEEPSEEK_API_KEY": "unused", "OPENAI_API_KEY": "unused",
                                 "GEMINI_API_KEY": "unused"})
    bench = Bench(shared_data, BENCH)
    protocol = JudgeProtocol.from_settings(load_judge_settings(None, bench.judge_config_file))
    plan = plan_judging(bench, protocol, {j: j for j in judges}, [MODEL], BASELINE)
    rows = ["| judge | requests | input tokens | cached | online | batch | batch + cache |",
            "|---|--:|--:|--:|--:|--:|--:|"]
    totals = [0.0, 0.0, 0.0]
    for name, cfg in judges.items():
        price = cfg.price
        assert price is not None
        requests = inputs = cached = 0
        for task in plan.tasks:
            if task.model != name:
                continue
            game1, game2 = task.games()
            for messages in (game1, game2):
                requests += 1
                inputs += count_request_tokens(ChatRequest(name, messages))
            # Game 2 repeats the system prompt and the question game 1 just sent.
            prefix = count_tokens(game2[0].content) + count_tokens(
                game2[1].content[:game2[1].shared_prefix])
            floor = MIN_CACHED[name]
            if floor is not None and prefix >= floor:
                cached += prefix
        outputs = requests * REPLY_TOKENS
        dollars = [price.cost(inputs, outputs), price.cost(inputs, outputs, batch=True),
                   price.cost(inputs, outputs, cached=cached, batch=True)]
        totals = [t + d for t, d in zip(totals, dollars, strict=True)]
        rows.append(f"| {name} | {requests:,} | {inputs:,} | {cached:,} | "
                    + " | ".join(f"${d:.2f}" for d in dollars) + " |")
    rows.append("| **all three** | | | | " + " | ".join(f"**${t:.2f}**" for t in totals)
                + " |")
    return "\n".join(rows)


def test_cost_table_is_the_one_in_the_docs(shared_data: Path) -> None:
    table = cost_table(shared_data)
    assert table in DOC.read_text(encoding="utf-8"), f"update docs/generation.md:\n{table}"
