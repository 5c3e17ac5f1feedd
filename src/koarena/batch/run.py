"""Running tasks through batch APIs, in rounds.

Tasks are the online ones (`koarena.runner.tasks.Task`), unchanged: each runs as a coroutine whose
``chat`` parks the request instead of sending it. When every unfinished task is parked, the
parked requests form a round: per model, requests already held by a journalled batch are
polled there, the rest go into new batches (journalled before the first poll). When a batch
ends, its results wake the tasks, which finish (the record is written as online) or ask again:
a judge's follow-up turn, or the next turn of a multi-turn question, is the next round.

An item that failed transiently (429, 5xx, expired) is asked again in a later round (or online,
with ``retry_online``) up to the retry policy's attempts; a fatal one fails its task. Nothing
failed is written as a result. Usage is priced at the batch rates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from koarena.batch.apis import BatchApi, ItemResult
from koarena.batch.files import BatchDeferred, FileBatch
from koarena.batch.journal import BatchJournal, request_id
from koarena.batch.options import BatchOptions
from koarena.bench import Bench
from koarena.jsonl import append_jsonl, sole_writer
from koarena.providers.base import (
    ChatRequest,
    ChatResponse,
    FatalError,
    ProviderError,
    RateLimitError,
    Redactor,
    TransientError,
)
from koarena.runner.ordering import put_in_task_order
from koarena.runner.pool import ProviderPool
from koarena.runner.run import (
    RunOptions,
    RunResult,
    RunStatus,
    Writer,
    close_run,
    failure_reason,
    run_tasks,
)
from koarena.runner.tasks import Chat, Task, TaskError, pending_tasks

log = logging.getLogger(__name__)

_Waiter = tuple[ChatRequest, "asyncio.Future[ChatResponse]"]


class _Rounds:
    """The parked requests and the count of tasks still running."""

    def __init__(self, pool: ProviderPool, batch: BatchOptions, journal: BatchJournal,
                 stage: str) -> None:
        self.pool = pool
        self.batch = batch
        self.journal = journal
        self.stage = stage
        self.parked: list[_Waiter] = []
        self.keys: dict[str, str] = {}
        self.live = 0
        self.quiet = asyncio.Event()
        self.apis: dict[str, BatchApi] = {}
        self.redactors: dict[str, Redactor] = {}
        self.batches_submitted = 0

    def _check(self) -> None:
        if self.live == 0 or len(self.parked) >= self.live:
            self.quiet.set()

    def finished(self) -> None:
        self.live -= 1
        self._check()

    def chat_for(self, task: Task) -> Chat:
        """The ``chat`` a task gets: park the request, retry transient failures."""

        async def chat(request: ChatRequest) -> ChatResponse:
            attempt = 0
            while True:
                attempt += 1
                fut: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
                self.keys[request_id(request)] = task.key
                self.parked.append((request, fut))
                self._check()
                try:
                    return await fut
                except (RateLimitError, TransientError) as exc:
                    if attempt >= self.pool.retry.attempts:
                        raise
                    self.pool.slot(request.model).usage.retries += 1
                    if self.batch.retry_online:
                        log.debug("%s: %s; retrying online", request.model, exc)
                        return await self.pool.chat(request)
                    log.debug("%s: %s; retrying in the next batch", request.model, exc)

        return chat

    def api(self, model: str) -> BatchApi:
        if model not in self.apis:
            self.apis[model] = self.batch.factory(self.pool.slot(model).cfg)
        return self.apis[model]

    def redactor(self, model: str) -> Redactor:
        """Takes the key of ``model``'s batch endpoint (its first) out of what the batch API
        returns or raises, as `ScrubbedProvider` does online."""
        if model not in self.redactors:
            key = self.pool.slot(model).cfg.endpoints[0].api_key
            self.redactors[model] = Redactor(key.reveal() if key is not None else "")
        return self.redactors[model]

    async def run_round(self) -> None:
        """Send the parked requests as batches and resolve them with the results.

        Every model's batches are submitted first, then polled one after the other: the round
        ends with its slowest batch either way, and the order (of batch ids and status lines)
        stays the same from run to run."""
        # A task that failed cancels its other game's request: nothing to send for it.
        parked = [(r, f) for r, f in self.parked if not f.cancelled()]
        self.parked = []
        by_model: dict[str, dict[str, list[_Waiter]]] = defaultdict(lambda: defaultdict(list))
        for request, fut in parked:
            by_model[request.model][request_id(request)].append((request, fut))
        held: list[tuple[str, str, list[str]]] = []
        for model in sorted(by_model):
            held += await self._submit(model, by_model[model])
        for model, batch_id, cids in held:
            await self._collect(model, self.api(model), batch_id, cids, by_model[model])

    async def _submit(self, model: str, groups: dict[str, list[_Waiter]]
                      ) -> list[tuple[str, str, list[str]]]:
        """``(model, batch id, custom ids)`` holding ``groups``: the journalled batches that
        already hold some of them, and new batches for the rest."""
        journal = self.journal
        held: dict[str, list[str]] = defaultdict(list)
        new: list[str] = []
        for cid in groups:
            owner = journal.owner.get(cid)
            if owner is not None and owner[1] == model:
                held[owner[0]].append(cid)
            else:
                new.append(cid)
        api = self.api(model)
        for start in range(0, len(new), self.batch.max_items):
            chunk = new[start:start + self.batch.max_items]
            try:
                batch_id = await api.submit([(cid, groups[cid][0][0]) for cid in chunk])
            except ProviderError as exc:
                self._fail(groups, chunk, _no_batch_api(model, self.redactor(model).error(exc)))
                continue
            self.batches_submitted += 1
            await asyncio.to_thread(journal.submitted, batch_id, model, self.stage,
                                    {cid: self.keys.get(cid, "") for cid in chunk})
            held[batch_id] = chunk
        return [(model, bid, cids) for bid, cids in held.items()]

    async def _collect(self, model: str, api: BatchApi, batch_id: str, cids: list[str],
                       groups: dict[str, list[_Waiter]]) -> None:
        started = time.monotonic()
        redactor = self.redactor(model)
        try:
            while True:
                try:
                    state = await api.poll(batch_id)
                except (RateLimitError, TransientError) as exc:
                    log.debug("%s: polling %s: %s", model, batch_id, redactor.error(exc))
                else:
                    if self.batch.on_status is not None:
                        self.batch.on_status(model, batch_id, state,
                                             time.monotonic() - started)
                    if state.ended:
                        break
                await asyncio.sleep(self.batch.poll_interval)
            results = await api.results(batch_id)
        except ProviderError as exc:
            self._fail(groups, cids, redactor.error(exc))
            return
        if isinstance(api, FileBatch) and api.deferred(batch_id):
            for cid in cids:
                for _, fut in groups[cid]:
                    if not fut.done():
                        fut.set_exception(BatchDeferred(batch_id))
            return
        failed: list[str] = []
        slot = self.pool.slot(model)
        for cid in cids:
            result: ItemResult = results.get(cid) or TransientError(
                f"{model}: batch {batch_id} has no result for {cid} (expired)")
            if isinstance(result, ChatResponse):
                slot.usage.add(result.usage, slot.cfg.price, batch=True)
                clean = redactor.response(result)
                for _, fut in groups[cid]:
                    if not fut.done():
                        fut.set_result(clean)
            else:
                failed.append(cid)
                self._fail(groups, [cid], redactor.error(result))
        await asyncio.to_thread(self.journal.failed, batch_id, failed)

    @staticmethod
    def _fail(groups: dict[str, list[_Waiter]], cids: Sequence[str],
              exc: BaseException) -> None:
        for cid in cids:
            for _, fut in groups[cid]:
                if not fut.done():
                    fut.set_exception(exc)

    async def aclose(self) -> None:
        for api in self.apis.values():
            await api.aclose()


def _no_batch_api(model: str, exc: ProviderError) -> ProviderError:
    if "HTTP 404" in str(exc) or "HTTP 405" in str(exc):
        return FatalError(f"{model}: the endpoint does not implement the batch API ({exc}); "
                          "run without --batch")
    return exc


def journal_path(bench: Bench) -> Path:
    """The bench's batch journal: ``<bench>/logs/batches.jsonl``."""
    return bench.root / "logs" / "batches.jsonl"


async def run_stage(tasks: Sequence[Task], pool: ProviderPool, options: RunOptions,
                    batch: BatchOptions | None, journal: Path) -> RunResult:
    """Run a stage: the tasks of batch-mode models (all with ``batch.all_models``, else those
    whose endpoint says ``batch: true``) through batch APIs, the others online; one summary."""
    def batched(t: Task) -> bool:
        return batch is not None and (batch.all_models or pool.slot(t.model).cfg.batch)

    in_batch = [t for t in tasks if batched(t)]
    online = [t for t in tasks if not batched(t)]
    if batch is None or not in_batch:
        return await run_tasks(tasks, pool, options)
    if not online:
        return await run_batched(in_batch, pool, options, batch, BatchJournal(journal))
    quiet = replace(options, summary_file=None, observer=None)
    observer = options.observer
    if observer is not None:
        observer.started(options.stage, len(tasks))
    try:
        first = await run_tasks(online, pool, quiet)
        second = await run_batched(in_batch, pool, quiet, batch, BatchJournal(journal))
    except BaseException:
        if observer is not None:
            observer.finished(None)
        raise
    result = RunResult(stage=options.stage, total=first.total + second.total,
                       done=first.done + second.done, skipped=first.skipped + second.skipped,
                       failed=first.failed + second.failed,
                       usage={**first.usage, **second.usage}, started=first.started,
                       finished=second.finished, batches=second.batches,
                       deferred=second.deferred)
    if options.summary_file is not None:
        await asyncio.to_thread(append_jsonl, options.summary_file, [result.to_dict()])
    if observer is not None:
        observer.finished(result)
    return result


async def run_batched(tasks: Sequence[Task], pool: ProviderPool, options: RunOptions,
                      batch: BatchOptions, journal: BatchJournal) -> RunResult:
    """Run the tasks not yet done through batch APIs; append their records, log failures,
    return the summary (as `koarena.runner.run.run_tasks` does online, holding the one-writer
    lock of every output file for the whole run)."""
    with sole_writer(t.output for t in tasks):
        return await _run_batched(tasks, pool, options, batch, journal)


async def _run_batched(tasks: Sequence[Task], pool: ProviderPool, options: RunOptions,
                       batch: BatchOptions, journal: BatchJournal) -> RunResult:
    result = RunResult(stage=options.stage, total=len(tasks), started=time.time())
    todo, result.skipped = pending_tasks(tasks)
    for model in {t.model for t in todo}:
        pool.slot(model)  # unknown models fail before any request is sent
    await asyncio.to_thread(journal.load)
    rounds = _Rounds(pool, batch, journal, options.stage)
    writer = Writer()
    writer_task = asyncio.ensure_future(writer.run())
    observer = options.observer
    started = time.monotonic()

    def tick() -> None:
        if observer is None:
            return
        usage = pool.usage().values()
        failed = sum(result.failed.values())
        observer.progressed(RunStatus(
            stage=options.stage, total=len(todo), completed=result.done + failed,
            failed=failed,
            tokens=sum(u.tokens.input_tokens + u.tokens.output_tokens for u in usage),
            cost=sum(u.cost for u in usage), elapsed=time.monotonic() - started))

    async def run_one(task: Task) -> None:
        try:
            record = await task.run(rounds.chat_for(task))
        except BatchDeferred:
            result.deferred += 1
        except (ProviderError, TaskError) as exc:
            reason = failure_reason(exc)
            result.failed[reason] += 1
            await writer.queue.put((options.failure_log, {
                "stage": options.stage, "key": task.key, "model": task.model,
                "output": str(task.output), "reason": reason, "error": str(exc),
                "time": time.time(), "batch": True}))
        else:
            await writer.queue.put((task.output, record))
            result.done += 1
        finally:
            rounds.finished()
            tick()

    rounds.live = len(todo)
    if observer is not None:
        observer.started(options.stage, len(todo))
    runners = [asyncio.ensure_future(run_one(t)) for t in todo]
    outcome: RunResult | None = None
    try:
        try:
            while rounds.live > 0:
                await rounds.quiet.wait()
                rounds.quiet.clear()
                if writer_task.done():
                    # The writer failed (disk full): submit nothing more that could not be
                    # written.
                    writer_task.result()
                if rounds.parked:
                    await rounds.run_round()
            await asyncio.gather(*runners)
        finally:
            for r in runners:
                r.cancel()
            await rounds.aclose()
            await writer.queue.put(None)
            await writer_task
        await asyncio.to_thread(put_in_task_order, tasks, writer.written)
        result.batches = rounds.batches_submitted
        await close_run(result, pool, {t.model for t in todo}, options)
        outcome = result
    finally:
        if observer is not None:
            observer.finished(outcome)
    return result
