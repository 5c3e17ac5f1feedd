"""Running a stage: tasks → records, concurrently, resumably, with a failure log.

Running::

    runner = StageRunner(endpoints)                     # {name: config.ModelEndpoint}
    result = runner.run(bench, "answer", tasks)         # see `koarena.runner.tasks.Task`
    exit_code = result.exit_code                        # 1 if anything failed

or, inside a running loop, `run_tasks` with a `ProviderPool` of one's own. Tasks already done
are skipped; each model gets ``parallel × tasks_per_slot`` workers; records are appended by one
writer in a worker thread. Workers run in an `asyncio.TaskGroup`: a crash in one (a bug, not a
failed request) cancels the others at once. Progress goes to a `RunObserver` (the CLI draws it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from koarena.batch.options import BatchOptions
from koarena.bench import Bench
from koarena.config import ModelEndpoint
from koarena.jsonl import append_jsonl, sole_writer
from koarena.providers.base import FatalError, ProviderError, RateLimitError, TransientError
from koarena.runner.ordering import put_in_task_order
from koarena.runner.pool import ModelUsage, ProviderFactory, ProviderPool, RetryPolicy
from koarena.runner.tasks import Task, TaskError, pending_tasks

log = logging.getLogger(__name__)

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
    deferred: int = 0
    """Tasks whose requests went to a batch file: they wait for ``--import-batch``."""

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
            "deferred": self.deferred,
            "saved_by_batch_usd": round(sum(u.saved_by_batch for u in self.usage.values()), 6),
        }


@dataclass(frozen=True)
class RunStatus:
    """Where a running stage stands, after each finished task."""

    stage: str
    total: int
    """Tasks this run sends (those already done excluded)."""
    completed: int
    """Tasks finished, done or failed."""
    failed: int
    tokens: int
    cost: float
    elapsed: float
    """Seconds since the first task started."""


class RunObserver(Protocol):
    """Who is told how a stage is going (the CLI's progress bar and end-of-run report)."""

    def started(self, stage: str, total: int) -> None:
        """The stage starts ``total`` tasks."""

    def progressed(self, status: RunStatus) -> None:
        """A task finished."""

    def finished(self, result: RunResult | None) -> None:
        """The stage is over: its result, or None when it stopped on an error."""


@dataclass
class RunOptions:
    """How `run_tasks` runs a stage. ``failure_log`` gets one JSON line per failed task,
    ``summary_file`` one line per run."""

    stage: str
    failure_log: Path
    summary_file: Path | None = None
    tasks_per_slot: int = 2
    observer: RunObserver | None = None


def failure_log_path(bench: Bench, stage: str) -> Path:
    """Where a stage's failures go: ``<bench>/logs/<stage>_failures.jsonl``."""
    return bench.root / "logs" / f"{stage}_failures.jsonl"


def run_summary_path(bench: Bench) -> Path:
    """One JSON line per run with counts, usage and cost: ``<bench>/logs/run_summary.jsonl``."""
    return bench.root / "logs" / "run_summary.jsonl"


def failure_reason(exc: BaseException) -> str:
    """The failure log's reason for ``exc``."""
    if isinstance(exc, TaskError):
        return exc.reason
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    if isinstance(exc, TransientError):
        return "transient"
    if isinstance(exc, FatalError):
        return "fatal"
    return type(exc).__name__


class Writer:
    """Appends finished records in batches from a worker thread.

    Each batch is one `append_jsonl` call per file (whole lines, flock, fsync), so the event
    loop never blocks on disk and a crash loses at most the records not yet handed over.
    """

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Path, dict[str, Any]] | None] = asyncio.Queue()
        self.written: set[Path] = set()
        """The files appended to."""

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
                self.written.add(path)


async def close_run(result: RunResult, pool: ProviderPool, models: Iterable[str],
                    options: RunOptions) -> None:
    """Fill in the run's usage of ``models`` and its end, and append its summary line."""
    wanted = set(models)
    result.usage = {m: u for m, u in pool.usage().items() if m in wanted}
    result.finished = time.time()
    if options.summary_file is not None:
        await asyncio.to_thread(append_jsonl, options.summary_file, [result.to_dict()])


async def run_tasks(tasks: Sequence[Task], pool: ProviderPool, options: RunOptions) -> RunResult:
    """Run the tasks not yet done; append their records; log failures; return the summary.
    Holds the one-writer lock of every output file (`sole_writer`) for the whole run."""
    with sole_writer(t.output for t in tasks):
        return await _run_tasks(tasks, pool, options)


async def _run_tasks(tasks: Sequence[Task], pool: ProviderPool, options: RunOptions
                     ) -> RunResult:
    result = RunResult(stage=options.stage, total=len(tasks), started=time.time())
    todo, result.skipped = pending_tasks(tasks)
    by_model: dict[str, list[Task]] = defaultdict(list)
    for t in todo:
        by_model[t.model].append(t)
    for model in by_model:
        pool.slot(model)  # unknown models fail before any request is sent
    observer = options.observer
    writer = Writer()
    writer_task = asyncio.ensure_future(writer.run())
    started = time.monotonic()

    def tick() -> None:
        if observer is None:
            return
        usage = pool.usage().values()
        observer.progressed(RunStatus(
            stage=options.stage, total=len(todo),
            completed=result.done + sum(result.failed.values()),
            failed=sum(result.failed.values()),
            tokens=sum(u.tokens.input_tokens + u.tokens.output_tokens for u in usage),
            cost=sum(u.cost for u in usage), elapsed=time.monotonic() - started))

    async def run_one(task: Task) -> None:
        try:
            record = await task.run(pool.chat)
        except (ProviderError, TaskError) as exc:
            reason = failure_reason(exc)
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
            if writer_task.done():
                # The writer failed (disk full): raising ends the run at once, instead of
                # paying for requests whose records could not be written.
                writer_task.result()
            await run_one(queue.pop())

    if observer is not None:
        observer.started(options.stage, len(todo))
    outcome: RunResult | None = None
    try:
        try:
            async with asyncio.TaskGroup() as group:
                for model, queue in by_model.items():
                    queue.reverse()  # pop() from the end keeps the input order
                    n = pool.slot(model).cfg.parallel * options.tasks_per_slot
                    for _ in range(n):
                        group.create_task(worker(queue))
        except BaseExceptionGroup as crash:
            # A worker crashed (a bug, not a failed request) and the group cancelled the
            # rest: raise that error itself, so callers see the type they would expect.
            for other in crash.exceptions[1:]:
                log.debug("another worker also crashed: %r", other)
            raise crash.exceptions[0] from None
        finally:
            await writer.queue.put(None)
            await writer_task
        await asyncio.to_thread(put_in_task_order, tasks, writer.written)
        tick()
        await close_run(result, pool, by_model, options)
        outcome = result
    finally:
        if observer is not None:
            observer.finished(outcome)
    return result


@dataclass(frozen=True)
class StageRunner:
    """How a command's stages reach the models: the endpoints, the retry policy, the provider
    factory (tests plug in their own) and who is told about progress. One shared path for the
    answer and judge stages and the pipeline."""

    endpoints: dict[str, ModelEndpoint]
    retry: RetryPolicy | None = None
    factory: ProviderFactory | None = None
    observer: RunObserver | None = None
    batch: BatchOptions | None = None
    """Batch settings: the models in batch mode go through their batch APIs."""

    def batched(self, model: str) -> bool:
        """Whether ``model``'s requests go through its batch API."""
        cfg = self.endpoints.get(model)
        return self.batch is not None and (self.batch.all_models
                                           or (cfg is not None and cfg.batch))

    def run(self, bench: Bench, stage: str, tasks: Sequence[Task]) -> RunResult:
        """Run the tasks of ``stage`` not yet done: records to their outputs, failures to
        ``logs/<stage>_failures.jsonl``, one summary line to ``logs/run_summary.jsonl``."""
        options = RunOptions(stage=stage, failure_log=failure_log_path(bench, stage),
                             summary_file=run_summary_path(bench), observer=self.observer)

        async def go() -> RunResult:
            pool = ProviderPool(self.endpoints, factory=self.factory, retry=self.retry)
            try:
                if self.batch is None:
                    return await run_tasks(tasks, pool, options)
                # Imported here: the batch runner is built on this module.
                from koarena.batch.run import journal_path, run_stage

                return await run_stage(tasks, pool, options, self.batch, journal_path(bench))
            finally:
                await pool.aclose()

        return run_async(go())
