"""How a run shows on the terminal: a progress bar per stage, the end-of-run report and the
dry-run table (the runner itself only reports through `RunObserver`)."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from koarena.batch.apis import BatchApi, BatchState
from koarena.batch.files import FileBatch
from koarena.batch.options import BatchOptions
from koarena.cli.common import err_console
from koarena.config import ModelEndpoint
from koarena.runner.estimate import Estimate
from koarena.runner.pool import RetryPolicy
from koarena.runner.run import RunResult, RunStatus, StageRunner


def stage_runner(args: argparse.Namespace, endpoints: dict[str, ModelEndpoint]) -> StageRunner:
    """A runner with the command line's retry and batch options, showing progress on stderr."""
    return StageRunner(endpoints, retry=retry_policy(args), batch=batch_options(args),
                       observer=ConsoleObserver(err_console))


class ConsoleObserver:
    """A `RunObserver`: a progress bar while a stage runs (on a terminal), then its report."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._bar: TaskID | None = None

    def started(self, stage: str, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[tokens]} tok  ${task.fields[cost]:.4f}  "
                       "[red]{task.fields[failed]} failed"),
            console=self.console,
            disable=not self.console.is_terminal,
            transient=False,
        )
        self._progress.start()
        self._bar = self._progress.add_task(stage, total=total, rate="", tokens=0, cost=0.0,
                                            failed=0)

    def progressed(self, status: RunStatus) -> None:
        if self._progress is None or self._bar is None:
            return
        self._progress.update(
            self._bar, completed=status.completed,
            rate=f"{status.completed / max(1e-9, status.elapsed):.1f}/s",
            tokens=status.tokens, cost=status.cost, failed=status.failed)

    def finished(self, result: RunResult | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = self._bar = None
        if result is not None:
            report(result, self.console)


def report(result: RunResult, console: Console) -> None:
    """The end-of-run summary: done, skipped, failed by reason, usage and cost."""
    failed = sum(result.failed.values())
    console.print(f"[bold]{result.stage}[/]: {result.done} done, {result.skipped} skipped "
                  f"(already done), {failed} failed", highlight=False)
    for reason, n in sorted(result.failed.items()):
        console.print(f"  failed ({reason}): {n}", highlight=False)
    if result.deferred:
        console.print(f"  written to the batch file, waiting for --import-batch: "
                      f"{result.deferred}", highlight=False)
    for model, u in sorted(result.usage.items()):
        saved = f", ${u.saved_by_cache:.4f} saved" if round(u.saved_by_cache, 4) else ""
        tokens = u.tokens
        cached = (f" ({tokens.cached_input_tokens} from the prompt cache{saved})"
                  if tokens.cached_input_tokens else "")
        batch_saved = (f", ${u.saved_by_batch:.4f} saved" if round(u.saved_by_batch, 4)
                       else "")
        batched = f" ({u.batch_requests} in batches{batch_saved})" if u.batch_requests else ""
        console.print(f"  {model}: {u.requests} requests{batched}, {u.retries} retries, "
                      f"{tokens.input_tokens} input{cached} + {tokens.output_tokens} output "
                      "tokens, "
                      f"${u.cost:.4f}", highlight=False, markup=False)


def report_estimate(est: Estimate, endpoints: dict[str, ModelEndpoint], console: Console
                    ) -> None:
    """Print a dry-run estimate as a table."""
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
        table.add_row(escape(model), str(est.requests[model]), str(est.input_tokens[model]),
                      f"{est.expected_output_tokens[model]} / {est.max_output_tokens[model]}",
                      *cells)
    console.print(table)
    console.print(f"{est.skipped} already done (skipped)", highlight=False)


def batch_options(args: argparse.Namespace) -> BatchOptions:
    """The batch settings of the command line; batch status goes to stderr."""

    def status(model: str, batch_id: str, state: BatchState, elapsed: float) -> None:
        minutes, seconds = divmod(int(elapsed), 60)
        err_console.print(f"batch {batch_id} ({model}): {state.status} {state.done}/"
                          f"{state.total}, {minutes // 60}:{minutes % 60:02d}:{seconds:02d}",
                          highlight=False, markup=False)

    if args.batch_file is not None or args.import_batch:
        write_to, imported = args.batch_file, list(args.import_batch or [])

        def files(cfg: ModelEndpoint) -> BatchApi:
            return FileBatch(cfg, write_to, imported)

        return BatchOptions(all_models=True, poll_interval=0.0, factory=files)
    return BatchOptions(all_models=args.batch, poll_interval=max(0.0, args.poll_interval),
                        retry_online=args.batch_retry == "online", on_status=status)


def retry_policy(args: argparse.Namespace) -> RetryPolicy:
    return RetryPolicy(attempts=max(1, args.attempts), base=args.retry_base)
