"""One model through the whole benchmark: answer → every judge → ensemble → leaderboard.

Each stage is the same function its own command calls, so a run can be resumed stage by stage
with the separate commands too. A stage that leaves failures stops the pipeline: an ensemble or
leaderboard over missing verdicts would quietly rank the model on fewer questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.console import Console

from koarena.answering import answer
from koarena.batch.run import BatchOptions
from koarena.bench import Bench
from koarena.config import AnswerSettings, JudgeSettings, ModelEndpoint
from koarena.controls import Control
from koarena.engine import ProviderFactory, RetryPolicy, RunResult, report
from koarena.ensemble import ENSEMBLE_JUDGE, EnsembleSummary, write_ensemble
from koarena.errors import ConfigError
from koarena.judging import JudgePlan, JudgeProtocol, judge, plan_judging
from koarena.leaderboard import Leaderboard, compute_leaderboard


@dataclass
class PipelineResult:
    """What each stage did; ``failed_stage`` names the stage that stopped the run."""

    stages: list[RunResult] = field(default_factory=list)
    plan: JudgePlan | None = None
    ensemble: EnsembleSummary | None = None
    board: Leaderboard | None = None
    failed_stage: str | None = None

    @property
    def exit_code(self) -> int:
        return 1 if self.failed_stage else 0


def check_not_published(bench: Bench, model: str, judges: list[str]) -> None:
    """Refuse to overwrite ensemble verdicts that none of ``judges`` produced.

    The published models' ensemble files have no per-judge files behind them; rebuilding one
    from this run's judges would replace the published verdicts.
    """
    if not bench.judgment_file(ENSEMBLE_JUDGE, model).is_file():
        return
    if any(bench.judgment_file(j, model).is_file() for j in judges):
        return
    raise ConfigError(
        f"{model!r} already has ensemble verdicts ({bench.judgment_file(ENSEMBLE_JUDGE, model)}) "
        f"that judges {', '.join(judges)} did not produce; run under another model name"
    )


def run_pipeline(
    bench: Bench,
    model: str,
    answer_settings: AnswerSettings,
    judge_settings: JudgeSettings,
    endpoints: dict[str, ModelEndpoint],
    judges: dict[str, str],
    *,
    control: Control = Control.NONE,
    rounds: int = 100,
    seed: int = 42,
    retry: RetryPolicy | None = None,
    progress: bool = True,
    console: Console | None = None,
    factory: ProviderFactory | None = None,
    batch: BatchOptions | None = None,
) -> PipelineResult:
    """Answer, judge with every judge in ``judges`` (name → API model), ensemble, rank."""
    check_not_published(bench, model, list(judges))
    result = PipelineResult()
    answered = answer(
        bench,
        [model],
        answer_settings,
        endpoints,
        retry=retry,
        progress=progress,
        console=console,
        factory=factory,
        batch=batch,
    )
    result.stages.append(answered)
    if console is not None:
        report(answered, console)
    if answered.exit_code:
        result.failed_stage = "answer"
        return result
    result.plan = plan_judging(
        bench,
        JudgeProtocol.from_settings(judge_settings),
        judges,
        [model],
        judge_settings.baseline_model,
    )
    judged = judge(
        bench,
        result.plan,
        endpoints,
        retry=retry,
        progress=progress,
        console=console,
        factory=factory,
        batch=batch,
    )
    result.stages.append(judged)
    if console is not None:
        report(judged, console)
    if judged.exit_code:
        result.failed_stage = "judge"
        return result
    result.ensemble = write_ensemble(bench, list(judges), [model])
    result.board = compute_leaderboard(
        bench,
        control,
        judges=[ENSEMBLE_JUDGE],
        baseline=judge_settings.baseline_model,
        rounds=rounds,
        seed=seed,
    )
    return result
