"""The asyncio task runner shared by answering and judging.

API
---
A *task* produces one output record (an answer to a question, a judgment of a question). It
satisfies the `Task` protocol:

- ``key: str`` — unique within its output file (the question id). If a record whose
  ``RunOptions.record_key(record)`` equals it is already in ``output``, the task is done and is
  skipped: this is resume.
- ``model: str`` — the endpoint-file name of the model its requests go to (limits, usage, cost).
- ``output: Path`` — the JSONL file its record is appended to (whole lines, flock).
- ``planned_requests() -> list[ChatRequest]`` — the requests it will send at least; used only
  by `estimate` (``--dry-run``).
- ``async run(chat: Chat) -> dict`` — build requests, ``await chat(request)`` as often as
  needed (a judge's two games, a follow-up turn after reading the first reply), and return the
  record. ``request.model`` is the endpoint-file name; the pool maps it to the API model name.
  Raise `TaskError(reason, message)` to fail without writing. A `ProviderError` that
  `chat` gives up on fails the task too. A failed task writes nothing to ``output``; it goes
  to the failure log with its reason and the next run retries it.

Running::

    pool = ProviderPool(endpoints)            # {name: config.ModelEndpoint}
    result = await run_tasks(tasks, pool, RunOptions(stage="answer", failure_log=...))
    await pool.aclose()
    exit_code = result.exit_code              # 1 if anything failed

`chat` holds one of the model's ``parallel`` slots per request in flight, waits for the
RPM/TPM budget, spreads requests over the model's endpoints (least busy first), retries
`RateLimitError`/`TransientError` with exponential backoff and jitter (honouring
``Retry-After``) up to ``RetryPolicy.attempts`` attempts, and sums usage and cost per model.
`estimate(tasks, endpoints, ...)` counts requests, input tokens (cl100k_base) and dollars
without sending anything.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from koarena.bench import Bench
from koarena.config import ANTHROPIC, GEMINI_TYPES, ModelEndpoint, Price
from koarena.errors import ConfigError, DataError
from koarena.jsonl import append_jsonl, iter_jsonl
from koarena.providers.anthropic import AnthropicProvider
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    Provider,
    ProviderError,
    RateLimitError,
    TransientError,
    Usage,
)
from koarena.providers.gemini import GeminiProvider
from koarena.providers.openai_compat import make_providers

log = logging.getLogger(__name__)

Chat = Callable[[ChatRequest], Awaitable[ChatResponse]]
T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop when it is installed: it halves the event loop's CPU per
    request, which is what bounds throughput at high ``parallel`` (docs/benchmarks.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
ProviderFactory = Callable[[ModelEndpoint], list[Provider]]


class TaskError(Exception):
    """A task failed for a reason of its own (not a provider failure); nothing is written."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Task(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def output(self) -> Path: ...

    def planned_requests(self) -> list[ChatRequest]: ...

    async def run(self, chat: Chat) -> dict[str, Any]: ...


def _question_id(record: dict[str, Any]) -> str | None:
    qid = record.get("question_id", record.get("uid"))
    return qid if isinstance(qid, str) else None


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries in all; delays grow as ``base * 2**n`` up to ``cap``, with jitter."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, error: ProviderError, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) after ``error``."""
        backoff = min(self.cap, self.base * 2.0 ** (attempt - 1))
        jittered = backoff * (0.5 + rng.random() / 2)
        retry_after: float | None = getattr(error, "retry_after", None)
        if retry_after is not None:
            # The server's own number wins, plus a little jitter so that all the requests it
            # turned away do not come back in the same instant.
            return min(self.max_retry_after, retry_after) + rng.random() * 0.1 * backoff
        return jittered


class RateLimiter:
    """A per-minute budget (requests or tokens) as a token bucket that may go into debt.

    `reserve` takes ``cost`` at once and returns how long the caller must wait, so concurrent
    callers queue up in order without a lock. ``burst_seconds`` of budget may be spent at once.
    """

    def __init__(self, per_minute: float, burst_seconds: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.level = self.capacity
        self.clock = clock
        self.stamp = clock()

    def reserve(self, cost: float) -> float:
        now = self.clock()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        self.level -= cost
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def adjust(self, delta: float) -> None:
        """Charge (or refund) the difference between an estimate and the actual cost."""
        self.level -= delta


@dataclass
class ModelUsage:
    requests: int = 0
    retries: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float = 0.0
    cost_without_cache: float = 0.0
    """What the same tokens would have cost with every input token at the input rate."""
    cost_online: float = 0.0
    """What the same tokens would have cost online (differs from ``cost`` for batches)."""
    batch_requests: int = 0

    def add(self, usage: Usage, price: Price | None, *, batch: bool = False) -> None:
        """Count one response's tokens and, with a price, its dollars (at the batch rates
        when it came from a batch)."""
        self.requests += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.reasoning_tokens += usage.reasoning_tokens
        self.cached_input_tokens += usage.cached_input_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.batch_requests += batch
        if price is not None:
            online = price.cost(usage.input_tokens, usage.output_tokens,
                                cached=usage.cached_input_tokens,
                                cache_write=usage.cache_write_tokens)
            self.cost_online += online
            self.cost += price.cost(usage.input_tokens, usage.output_tokens,
                                    cached=usage.cached_input_tokens,
                                    cache_write=usage.cache_write_tokens,
                                    batch=True) if batch else online
            self.cost_without_cache += price.cost(usage.input_tokens, usage.output_tokens,
                                                  batch=batch)

    @property
    def saved_by_cache(self) -> float:
        return self.cost_without_cache - self.cost

    @property
    def saved_by_batch(self) -> float:
        return self.cost_online - self.cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "batch_requests": self.batch_requests,
            "cost_usd": round(self.cost, 6),
            "saved_by_cache_usd": round(self.saved_by_cache, 6),
            "saved_by_batch_usd": round(self.saved_by_batch, 6),
        }


class _ModelSlot:
    """Per model: its providers, its parallel limit, its rate limiters, its usage."""

    def __init__(self, cfg: ModelEndpoint, providers: list[Provider]) -> None:
        if not providers:
            raise ConfigError(f"model {cfg.name!r} has no endpoints")
        self.cfg = cfg
        self.providers = providers
        self.in_flight = [0] * len(providers)
        self.next = 0
        self.sem = asyncio.Semaphore(cfg.parallel)
        self.rpm = RateLimiter(cfg.rpm) if cfg.rpm else None
        self.tpm = RateLimiter(cfg.tpm) if cfg.tpm else None
        self.usage = ModelUsage()

    def pick(self) -> int:
        """The least busy endpoint; ties rotate so that idle replicas all get work."""
        n = len(self.providers)
        best = min(range(n), key=lambda i: (self.in_flight[i], (i - self.next) % n))
        self.next = (best + 1) % n
        return best


class ProviderPool:
    """Providers for the models of an endpoint file; built lazily inside the running loop."""

    def __init__(self, endpoints: dict[str, ModelEndpoint],
                 factory: ProviderFactory | None = None,
                 retry: RetryPolicy | None = None, seed: int | None = None) -> None:
        self.endpoints = endpoints
        self.factory = factory or _default_factory
        self.retry = retry or RetryPolicy()
        self.rng = random.Random(seed)
        self._slots: dict[str, _ModelSlot] = {}

    def slot(self, model: str) -> _ModelSlot:
        s = self._slots.get(model)
        if s is None:
            cfg = self.endpoints.get(model)
            if cfg is None:
                known = ", ".join(sorted(self.endpoints)) or "none"
                raise ConfigError(f"model {model!r} is not in the endpoint file (known: {known})")
            s = self._slots[model] = _ModelSlot(cfg, self.factory(cfg))
        return s

    def usage(self) -> dict[str, ModelUsage]:
        return {name: s.usage for name, s in self._slots.items()}

    async def chat(self, request: ChatRequest) -> ChatResponse:
        """Send ``request`` to ``request.model`` with limits and retries (see module doc)."""
        slot = self.slot(request.model)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._once(slot, request)
            except (RateLimitError, TransientError) as exc:
                if attempt >= self.retry.attempts:
                    raise
                wait = self.retry.delay(attempt, exc, self.rng)
                slot.usage.retries += 1
                log.debug("%s: %s; retry %d in %.2f s", request.model, exc, attempt, wait)
                await asyncio.sleep(wait)

    async def _once(self, slot: _ModelSlot, request: ChatRequest) -> ChatResponse:
        estimate = 0
        if slot.tpm is not None:
            estimate = _count_request_tokens(request)
        async with slot.sem:
            wait = 0.0
            if slot.rpm is not None:
                wait = slot.rpm.reserve(1)
            if slot.tpm is not None:
                wait = max(wait, slot.tpm.reserve(estimate))
            if wait > 0:
                await asyncio.sleep(wait)
            i = slot.pick()
            slot.in_flight[i] += 1
            try:
                resp = await slot.providers[i].chat(request)
            finally:
                slot.in_flight[i] -= 1
        slot.usage.add(resp.usage, slot.cfg.price)
        if slot.tpm is not None:
            slot.tpm.adjust(resp.usage.input_tokens + resp.usage.output_tokens - estimate)
        return resp

    async def aclose(self) -> None:
        for s in self._slots.values():
            for p in s.providers:
                await p.aclose()
        self._slots.clear()


def _default_factory(cfg: ModelEndpoint) -> list[Provider]:
    if cfg.api_type == ANTHROPIC:
        return [AnthropicProvider(cfg, ep) for ep in cfg.endpoints]
    if cfg.api_type in GEMINI_TYPES:
        return [GeminiProvider(cfg, ep) for ep in cfg.endpoints]
    return list(make_providers(cfg))


def _count_request_tokens(request: ChatRequest) -> int:
    from koarena.style import count_tokens

    # 4 tokens of chat-format overhead per message, as OpenAI's cookbook counts them.
    return sum(count_tokens(m.content) + 4 for m in request.messages) + 3


@dataclass
class RunOptions:
    """How `run_tasks` runs a stage. ``failure_log`` gets one JSON line per failed task."""

    stage: str
    failure_log: Path
    summary_file: Path | None = None
    record_key: Callable[[dict[str, Any]], str | None] = _question_id
    tasks_per_slot: int = 2
    progress: bool = True
    console: Console | None = None


@dataclass
class RunResult:
    stage: str
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    usage: dict[str, ModelUsage] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    batches: int = 0
    """Provider batches submitted (batch mode)."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "started": self.started,
            "finished": self.finished,
            "total": self.total,
            "done": self.done,
            "skipped": self.skipped,
            "failed": sum(self.failed.values()),
            "failed_by_reason": dict(self.failed),
            "usage": {m: u.to_dict() for m, u in sorted(self.usage.items())},
            "cost_usd": round(sum(u.cost for u in self.usage.values()), 6),
            "saved_by_cache_usd": round(sum(u.saved_by_cache for u in self.usage.values()), 6),
            "batches": self.batches,
            "saved_by_batch_usd": round(sum(u.saved_by_batch for u in self.usage.values()), 6),
        }


def failure_log_path(bench: Bench, stage: str) -> Path:
    """Where a stage's failures go: ``<bench>/logs/<stage>_failures.jsonl``."""
    return bench.root / "logs" / f"{stage}_failures.jsonl"


def run_summary_path(bench: Bench) -> Path:
    """One JSON line per run with counts, usage and cost: ``<bench>/logs/run_summary.jsonl``."""
    return bench.root / "logs" / "run_summary.jsonl"


def completed_keys(path: Path, record_key: Callable[[dict[str, Any]], str | None]
                   ) -> set[str]:
    """Keys of the records already in ``path`` (a torn last line is ignored)."""
    if not path.is_file():
        return set()
    keys: set[str] = set()
    try:
        for _, rec in iter_jsonl(path, strict=False):
            k = record_key(rec)
            if k is not None:
                keys.add(k)
    except DataError as exc:
        raise DataError(f"cannot resume from {path}: {exc}") from exc
    return keys


def pending_tasks(tasks: Iterable[Task], record_key: Callable[[dict[str, Any]], str | None]
                  ) -> tuple[list[Task], int]:
    """The tasks whose record is not yet in their output file, and how many were skipped."""
    done_by_file: dict[Path, set[str]] = {}
    todo: list[Task] = []
    skipped = 0
    for t in tasks:
        keys = done_by_file.get(t.output)
        if keys is None:
            keys = done_by_file[t.output] = completed_keys(t.output, record_key)
        if t.key in keys:
            skipped += 1
        else:
            todo.append(t)
    return todo, skipped


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TaskError):
        return exc.reason
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, FatalError):
        return "fatal"
    return type(exc).__name__


class _Writer:
    """Appends finished records in batches from a worker thread.

    Each batch is one `append_jsonl` call per file (whole lines, flock, fsync), so the event
    loop never blocks on disk and a crash loses at most the records not yet handed over.
    """

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Path, dict[str, Any]] | None] = asyncio.Queue()

    async def run(self) -> None:
        stop = False
        while not stop:
            item = await self.queue.get()
            batch: dict[Path, list[dict[str, Any]]] = defaultdict(list)
            while True:
                if item is None:
                    stop = True
                else:
                    batch[item[0]].append(item[1])
                if self.queue.empty():
                    break
                item = self.queue.get_nowait()
            for path, records in batch.items():
                await asyncio.to_thread(append_jsonl, path, records)


def _progress(options: RunOptions) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[tokens]} tok  ${task.fields[cost]:.4f}  "
                   "[red]{task.fields[failed]} failed"),
        console=options.console,
        disable=not options.progress,
        transient=False,
    )


async def run_tasks(tasks: Sequence[Task], pool: ProviderPool, options: RunOptions) -> RunResult:
    """Run the tasks not yet done; append their records; log failures; return the summary."""
    result = RunResult(stage=options.stage, total=len(tasks), started=time.time())
    todo, result.skipped = pending_tasks(tasks, options.record_key)
    by_model: dict[str, list[Task]] = defaultdict(list)
    for t in todo:
        by_model[t.model].append(t)
    for model in by_model:
        pool.slot(model)  # unknown models fail before any request is sent
    writer = _Writer()
    writer_task = asyncio.ensure_future(writer.run())
    started = time.monotonic()

    with _progress(options) as progress:
        bar = progress.add_task(options.stage, total=len(todo), rate="", tokens=0, cost=0.0,
                                failed=0)

        def tick() -> None:
            usage = pool.usage().values()
            n = result.done + sum(result.failed.values())
            elapsed = max(1e-9, time.monotonic() - started)
            progress.update(
                bar, completed=n, rate=f"{n / elapsed:.1f}/s",
                tokens=sum(u.input_tokens + u.output_tokens for u in usage),
                cost=sum(u.cost for u in usage), failed=sum(result.failed.values()))

        async def run_one(task: Task) -> None:
            try:
                record = await task.run(pool.chat)
            except (ProviderError, TaskError) as exc:
                reason = _reason(exc)
                result.failed[reason] += 1
                failure = {
                    "stage": options.stage, "key": task.key, "model": task.model,
                    "output": str(task.output), "reason": reason, "error": str(exc),
                    "time": time.time(),
                }
                await writer.queue.put((options.failure_log, failure))
                log.debug("%s %s failed: %s", task.model, task.key, exc)
            else:
                await writer.queue.put((task.output, record))
                result.done += 1
            tick()

        async def worker(queue: list[Task]) -> None:
            while queue:
                await run_one(queue.pop())

        workers: list[asyncio.Future[None]] = []
        for model, queue in by_model.items():
            queue.reverse()  # pop() from the end keeps the input order
            n = pool.slot(model).cfg.parallel * options.tasks_per_slot
            workers.extend(asyncio.ensure_future(worker(queue)) for _ in range(n))
        try:
            await asyncio.gather(*workers)
        finally:
            await writer.queue.put(None)
            await writer_task
        tick()

    result.usage = {m: u for m, u in pool.usage().items() if m in by_model}
    result.finished = time.time()
    if options.summary_file is not None:
        await asyncio.to_thread(append_jsonl, options.summary_file, [result.to_dict()])
    return result


def report(result: RunResult, console: Console) -> None:
    """The end-of-run summary: done, skipped, failed by reason, usage and cost."""
    failed = sum(result.failed.values())
    console.print(f"[bold]{result.stage}[/]: {result.done} done, {result.skipped} skipped "
                  f"(already done), {failed} failed", highlight=False)
    for reason, n in sorted(result.failed.items()):
        console.print(f"  failed ({reason}): {n}", highlight=False)
    for model, u in sorted(result.usage.items()):
        saved = f", ${u.saved_by_cache:.4f} saved" if round(u.saved_by_cache, 4) else ""
        cached = (f" ({u.cached_input_tokens} from the prompt cache{saved})"
                  if u.cached_input_tokens else "")
        batched = (f" ({u.batch_requests} in batches, ${u.saved_by_batch:.4f} saved)"
                   if u.batch_requests else "")
        console.print(f"  {model}: {u.requests} requests{batched}, {u.retries} retries, "
                      f"{u.input_tokens} input{cached} + {u.output_tokens} output tokens, "
                      f"${u.cost:.4f}", highlight=False)


@dataclass
class Estimate:
    """What a run would cost: per model, requests and tokens, and dollars where priced."""

    requests: Counter[str] = field(default_factory=Counter)
    input_tokens: Counter[str] = field(default_factory=Counter)
    max_output_tokens: Counter[str] = field(default_factory=Counter)
    expected_output_tokens: Counter[str] = field(default_factory=Counter)
    skipped: int = 0

    def cost(self, endpoints: dict[str, ModelEndpoint], model: str,
             output: Counter[str], *, batch: bool = False) -> float | None:
        cfg = endpoints.get(model)
        if cfg is None or cfg.price is None:
            return None
        return cfg.price.cost(self.input_tokens[model], output[model], batch=batch)


def estimate(tasks: Sequence[Task], record_key: Callable[[dict[str, Any]], str | None]
             = _question_id, expected_output_tokens: int | None = None) -> Estimate:
    """Count what the pending tasks would send (dry run): nothing is requested.

    Output tokens are bounded by each request's ``max_tokens``; ``expected_output_tokens`` per
    request, when given, is a likelier figure (e.g. the mean answer length of published models).
    """
    todo, skipped = pending_tasks(tasks, record_key)
    est = Estimate(skipped=skipped)
    for t in todo:
        for req in t.planned_requests():
            est.requests[t.model] += 1
            est.input_tokens[t.model] += _count_request_tokens(req)
            cap = req.max_tokens or 0
            est.max_output_tokens[t.model] += cap
            exp = expected_output_tokens if expected_output_tokens is not None else cap
            est.expected_output_tokens[t.model] += min(cap, exp) if cap else exp
    return est


def report_estimate(est: Estimate, endpoints: dict[str, ModelEndpoint], console: Console
                    ) -> None:
    """Print a dry-run estimate as a table."""
    from rich.table import Table

    table = Table(title="dry run: nothing was sent")
    for col in ("model", "requests", "input tokens", "output tokens (expected / max)",
                "dollars (expected / max)", "batch dollars (expected / max)"):
        table.add_column(col, justify="right" if col != "model" else "left")
    for model in sorted(est.requests):
        cells = []
        for batch in (False, True):
            exp_cost = est.cost(endpoints, model, est.expected_output_tokens, batch=batch)
            max_cost = est.cost(endpoints, model, est.max_output_tokens, batch=batch)
            cells.append("no price configured" if exp_cost is None or max_cost is None
                         else f"${exp_cost:.2f} / ${max_cost:.2f}")
        table.add_row(model, str(est.requests[model]), str(est.input_tokens[model]),
                      f"{est.expected_output_tokens[model]} / {est.max_output_tokens[model]}",
                      *cells)
    console.print(table)
    console.print(f"{est.skipped} already done (skipped)", highlight=False)

