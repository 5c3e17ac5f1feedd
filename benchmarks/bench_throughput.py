"""Throughput of judge-sized requests against the fake server (200 ms latency).

Modes:
  koarena      the engine (run_tasks + aiohttp provider), records appended to a temp file
  sdk-async    one shared openai.AsyncOpenAI client, a semaphore of `parallel` (the SDK option)
  original     how the original scripts do it: a thread pool of `parallel` workers, a new
               sync openai.OpenAI client per request

The fake server runs in its own process (``koarena fake-server``); client CPU is this process's
CPU time. Requests are real judge prompts built from the shared data when it is there (judge
system prompt + question + baseline answer + model answer), else text of the same size.

    .venv/bin/python benchmarks/bench_throughput.py --mode koarena --parallel 64 256
    .venv/bin/python benchmarks/bench_throughput.py --mode original --parallel 64 256
    .venv/bin/python benchmarks/bench_throughput.py --mode koarena --parallel 256 --requests 4000

Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from koarena.config import parse_model_endpoint
from koarena.engine import Chat, ProviderPool, RunOptions, run_async, run_tasks
from koarena.providers.base import ChatRequest, Message

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "ko-arena-hard-v0.1"
LATENCY = 0.2


def judge_prompts(n: int) -> tuple[str, list[str]]:
    """The judge system prompt and ``n`` user prompts (500 questions × 2 games, cycled)."""
    if not DATA.is_dir():
        return "judge " * 400, [f"{i} " + "가나다라 " * 1500 for i in range(n)]
    cfg = yaml.safe_load((DATA / "judge_config.yaml").read_text(encoding="utf-8"))
    template = cfg["prompt_template"][0]
    qs = [orjson.loads(x) for x in (DATA / "question.jsonl").read_bytes().splitlines()]

    def answers(model: str) -> dict[str, str]:
        path = DATA / "model_answer" / f"{model}.jsonl"
        return {r["question_id"]: r["choices"][0]["turns"][0]["content"]
                for r in map(orjson.loads, path.read_bytes().splitlines())}

    base, other = answers(cfg["baseline_model"]), answers("gpt-4o-mini")
    prompts = []
    for i in range(n):
        q = qs[(i // 2) % len(qs)]
        a, b = base[q["question_id"]], other[q["question_id"]]
        if i % 2:
            a, b = b, a
        text = template.format(question_1=q["turns"][0]["content"], answer_1=a, answer_2=b)
        prompts.append(f"{text}\n[{i}]")  # unique per request
    return cfg["system_prompt"], prompts


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen([sys.executable, "-m", "koarena", "fake-server", "--port", "0",
                             "--latency", str(LATENCY), "--port-file", str(port_file)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not port_file.exists() or not port_file.read_text():
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("fake server did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text()}/v1"


@dataclass(frozen=True)
class JudgeCall:
    key: str
    model: str
    output: Path
    system: str
    user: str

    def planned_requests(self) -> list[ChatRequest]:
        return [ChatRequest(self.model, [Message("system", self.system),
                                         Message("user", self.user)], 0.0, 4096)]

    async def run(self, chat: Chat) -> dict[str, Any]:
        resp = await chat(self.planned_requests()[0])
        return {"question_id": self.key, "judgment": resp.content}


def run_koarena(url: str, parallel: int, system: str, prompts: list[str]) -> None:
    cfg = parse_model_endpoint("judge", {"endpoints": [{"api_base": url, "api_key": "x"}],
                                         "parallel": parallel}, "bench", env={})
    tmp = Path(tempfile.mkdtemp())
    tasks = [JudgeCall(f"q{i}", "judge", tmp / "out.jsonl", system, p)
             for i, p in enumerate(prompts)]

    async def go() -> None:
        pool = ProviderPool({"judge": cfg})
        try:
            res = await run_tasks(tasks, pool, RunOptions(
                stage="bench", failure_log=tmp / "fail.jsonl", progress=False,
                tasks_per_slot=1))
        finally:
            await pool.aclose()
        if res.done != len(tasks):
            raise RuntimeError(f"only {res.done} of {len(tasks)} done: {dict(res.failed)}")

    run_async(go())


def run_sdk_async(url: str, parallel: int, system: str, prompts: list[str]) -> None:
    import httpx2
    import openai

    async def go() -> None:
        client = openai.AsyncOpenAI(base_url=url, api_key="x", max_retries=0,
                                    http_client=openai.DefaultAsyncHttpxClient(
                                        limits=httpx2.Limits(max_connections=parallel)))
        sem = asyncio.Semaphore(parallel)

        async def one(p: str) -> None:
            async with sem:
                await client.chat.completions.create(
                    model="judge", temperature=0, max_tokens=4096,
                    messages=[{"role": "system", "content": system},
                              {"role": "user", "content": p}])

        await asyncio.gather(*(one(p) for p in prompts))
        await client.close()

    asyncio.run(go())


def run_original(url: str, parallel: int, system: str, prompts: list[str]) -> None:
    import openai

    def one(p: str) -> str:
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
        r = client.chat.completions.create(
            model="judge", temperature=0, max_tokens=4096,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": p}])
        return r.choices[0].message.content or ""

    with ThreadPoolExecutor(parallel) as ex:
        list(ex.map(one, prompts))


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


MODES = {"koarena": run_koarena, "sdk-async": run_sdk_async, "original": run_original}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(MODES), default="koarena")
    ap.add_argument("--parallel", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--requests", type=int, default=1000)
    args = ap.parse_args()
    system, prompts = judge_prompts(args.requests)
    if args.mode != "koarena":
        import openai  # noqa: F401  (import cost is not part of the measurement)
    server, url = start_server()
    try:
        for parallel in args.parallel:
            rss_before = _rss_mb()
            cpu0, t0 = time.process_time(), time.perf_counter()
            MODES[args.mode](url, parallel, system, prompts)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            ideal = LATENCY * -(-len(prompts) // parallel)
            print(json.dumps({
                "mode": args.mode, "parallel": parallel, "requests": len(prompts),
                "prompt_chars": sum(map(len, prompts)) // len(prompts) + len(system),
                "wall_s": round(wall, 3), "ideal_s": round(ideal, 2),
                "ratio_to_ideal": round(wall / ideal, 3),
                "client_cpu_ms_per_request": round(cpu / len(prompts) * 1000, 3),
                # Growth of the peak over what the prompts themselves occupy before the run.
                "rss_before_mb": round(rss_before, 1),
                "peak_growth_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before, 1),
            }), flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
