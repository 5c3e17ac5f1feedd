"""Throughput of judge-sized requests against the fake server (200 ms latency).

Modes:
  koarena      the engine (run_tasks + aiohttp provider), records appended to a temp file
  judge        the real judging path (plan_judging + judging.judge) on a temporary bench: one
               judge, one copy of gpt-4o-mini's answers per 1000 requests (needs the shared data)
  sdk-async    one shared openai.AsyncOpenAI client, a semaphore of `parallel` (the SDK option)
  original     how the original scripts do it: a thread pool of `parallel` workers, a new
               sync openai.OpenAI client per request

The fake server runs in its own process (``koarena fake-server``); client CPU is this process's
CPU time. Requests are real judge prompts built from the shared data when it is there (judge
system prompt + question + baseline answer + model answer), else text of the same size.
The 1000 prompts of 500 questions × 2 games are cycled when more requests are asked for, so the
input held before the run does not grow with the request count and the memory figures show only
what the run itself keeps.

    .venv/bin/python benchmarks/bench_throughput.py --mode koarena --parallel 64 256
    .venv/bin/python benchmarks/bench_throughput.py --mode original --parallel 64 256
    .venv/bin/python benchmarks/bench_throughput.py --mode koarena --parallel 256 --requests 4000
    .venv/bin/python benchmarks/bench_throughput.py --mode judge --parallel 256 --requests 4000
    .venv/bin/python benchmarks/bench_throughput.py --parallel 256 --requests 8000 --tracemalloc

Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from koarena.config import parse_model_endpoint
from koarena.providers.base import ChatRequest, Message
from koarena.runner.pool import ProviderPool
from koarena.runner.run import RunOptions, RunResult, StageRunner, run_async, run_tasks
from koarena.runner.tasks import Chat

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "ko-arena-hard-v0.1"
LATENCY = 0.2
PROMPTS = 1000


def judge_prompts() -> tuple[str, list[str]]:
    """The judge system prompt and the 1000 user prompts of 500 questions × 2 games."""
    if not DATA.is_dir():
        return "judge " * 400, [f"{i} " + "가나다라 " * 1500 for i in range(PROMPTS)]
    cfg = yaml.safe_load((DATA / "judge_config.yaml").read_text(encoding="utf-8"))
    template = cfg["prompt_template"][0]
    qs = [orjson.loads(x) for x in (DATA / "question.jsonl").read_bytes().splitlines()]
    base, other = _answers(cfg["baseline_model"]), _answers("gpt-4o-mini")
    prompts = []
    for i in range(PROMPTS):
        q = qs[(i // 2) % len(qs)]
        a, b = base[q["question_id"]], other[q["question_id"]]
        if i % 2:
            a, b = b, a
        prompts.append(template.format(question_1=q["turns"][0]["content"], answer_1=a,
                                       answer_2=b))
    return cfg["system_prompt"], prompts


def _answers(model: str) -> dict[str, str]:
    path = DATA / "model_answer" / f"{model}.jsonl"
    return {r["question_id"]: r["choices"][0]["turns"][0]["content"]
            for r in map(orjson.loads, path.read_bytes().splitlines())}


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


Run = Callable[[], None]


def run_koarena(url: str, parallel: int, system: str, prompts: list[str], n: int) -> Run:
    cfg = parse_model_endpoint("judge", {"endpoints": [{"api_base": url, "api_key": "x"}],
                                         "parallel": parallel}, "bench", env={})
    tmp = Path(tempfile.mkdtemp())
    out = tmp / "out.jsonl"
    tasks = [JudgeCall(f"q{i}", "judge", out, system, prompts[i % len(prompts)])
             for i in range(n)]

    async def go() -> None:
        pool = ProviderPool({"judge": cfg})
        try:
            res = await run_tasks(tasks, pool, RunOptions(
                stage="bench", failure_log=tmp / "fail.jsonl", tasks_per_slot=1))
        finally:
            await pool.aclose()
        _check(res)

    return lambda: run_async(go())


def run_judge(url: str, parallel: int, system: str, prompts: list[str], n: int) -> Run:
    """``koarena judge``'s own path: plan (questions and answers loaded, nothing formatted
    yet), then `judging.judge`; one copy of gpt-4o-mini's answers per 1000 requests."""
    from koarena.bench import Bench
    from koarena.config import load_judge_settings
    from koarena.judge_protocol import JudgeProtocol
    from koarena.judging import judge, plan_judging

    tmp = Path(tempfile.mkdtemp())
    bench = Bench(tmp, DATA.name)
    (bench.root / "model_answer").mkdir(parents=True)
    shutil.copy(DATA / "question.jsonl", bench.root)
    shutil.copy(DATA / "judge_config.yaml", bench.root)
    settings = load_judge_settings(None, bench.judge_config_file)
    shutil.copy(DATA / "model_answer" / f"{settings.baseline_model}.jsonl",
                bench.root / "model_answer")
    # Copies of one model's answers, so that every 1000 requests carry the same prompt sizes.
    models = [f"gpt-4o-mini-{k}" for k in range(n // PROMPTS)]
    for m in models:
        shutil.copy(DATA / "model_answer" / "gpt-4o-mini.jsonl", bench.answer_file(m))
    cfg = parse_model_endpoint("judge", {"endpoints": [{"api_base": url, "api_key": "x"}],
                                         "parallel": parallel}, "bench", env={})
    plan = plan_judging(bench, JudgeProtocol.from_settings(settings), {"judge": "judge"},
                        models, settings.baseline_model)
    return lambda: _check(judge(bench, plan, StageRunner({"judge": cfg})))


def _check(res: RunResult) -> None:
    if res.failed or res.done != res.total:
        raise RuntimeError(f"only {res.done} of {res.total} done: {dict(res.failed)}")


def run_sdk_async(url: str, parallel: int, system: str, prompts: list[str], n: int) -> Run:
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

        await asyncio.gather(*(one(prompts[i % len(prompts)]) for i in range(n)))
        await client.close()

    return lambda: asyncio.run(go())


def run_original(url: str, parallel: int, system: str, prompts: list[str], n: int) -> Run:
    import openai

    def one(p: str) -> str:
        client = openai.OpenAI(base_url=url, api_key="x", max_retries=0)
        r = client.chat.completions.create(
            model="judge", temperature=0, max_tokens=4096,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": p}])
        return r.choices[0].message.content or ""

    def go() -> None:
        with ThreadPoolExecutor(parallel) as ex:
            list(ex.map(one, (prompts[i % len(prompts)] for i in range(n))))

    return go


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


MODES = {"koarena": run_koarena, "judge": run_judge, "sdk-async": run_sdk_async,
         "original": run_original}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=sorted(MODES), default="koarena")
    ap.add_argument("--parallel", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also list the largest Python allocations still alive after the run "
                         "(slows the run: ignore its timings)")
    args = ap.parse_args()
    if args.mode == "judge" and (args.requests % PROMPTS or not DATA.is_dir()):
        ap.error(f"--mode judge needs the shared data and --requests a multiple of {PROMPTS}")
    system, prompts = judge_prompts()
    if args.mode in {"sdk-async", "original"}:
        import openai  # noqa: F401  (import cost is not part of the measurement)
    server, url = start_server()
    try:
        for parallel in args.parallel:
            go = MODES[args.mode](url, parallel, system, prompts, args.requests)
            gc.collect()
            rss_before = _rss_mb()
            if args.tracemalloc:
                tracemalloc.start()
                snap = tracemalloc.take_snapshot()
            cpu0, t0 = time.process_time(), time.perf_counter()
            go()
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            gc.collect()
            ideal = LATENCY * -(-args.requests // parallel)
            row: dict[str, Any] = {
                "mode": args.mode, "parallel": parallel, "requests": args.requests,
                "prompt_chars": sum(map(len, prompts)) // len(prompts) + len(system),
                "wall_s": round(wall, 3), "ideal_s": round(ideal, 2),
                "ratio_to_ideal": round(wall / ideal, 3),
                "client_cpu_ms_per_request": round(cpu / args.requests * 1000, 3),
                # RSS before the run already holds its inputs (prompts, tasks, loaded answers).
                "rss_before_mb": round(rss_before, 1),
                "rss_after_growth_mb": round(_rss_mb() - rss_before, 1),
                # The process's peak: meaningful for the first --parallel value only.
                "peak_growth_mb": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss_before, 1),
            }
            if args.tracemalloc:
                diff = tracemalloc.take_snapshot().compare_to(snap, "lineno")
                tracemalloc.stop()
                row["alive_after_run"] = [str(d) for d in diff[:5]]
            print(json.dumps(row, ensure_ascii=False), flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
