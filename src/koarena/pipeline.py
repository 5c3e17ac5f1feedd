"""One model through the whole benchmark: answer → every judge → ensemble → leaderboard.

Each stage is the same function its own command calls, so a run can be resumed stage by stage
with the separate commands too. A stage that leaves failures stops the pipeline: an ensemble or
leaderboard over missing verdicts would quietly rank the model on fewer questions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from koarena.answering import answer
from koarena.bench import Bench
from koarena.config import AnswerSettings, JudgeSettings
from koarena.controls import DEFAULT_CONTROL, Control
from koarena.ensemble import ENSEMBLE_JUDGE, EnsembleSummary, write_ensemble
from koarena.errors import ConfigError
from koarena.judge_protocol import JudgeProtocol
from koarena.judging import JudgePlan, judge, plan_judging
from koarena.leaderboard import (
    DEFAULT_ROUNDS,
    DEFAULT_SEED,
    Leaderboard,
    compute_category_leaderboards,
    compute_leaderboard,
)
from koarena.runner.run import RunResult, StageRunner


@dataclass
class PipelineResult:
    """What each stage did; ``failed_stage`` names the stage that stopped the run."""

    stages: list[RunResult] = field(default_factory=list)
    plan: JudgePlan | None = None
    ensemble: EnsembleSummary | None = None
    board: Leaderboard | None = None
    """The leaderboard of a single-baseline bench (the first category's on a bench with
    categories)."""
    boards: list[Leaderboard] = field(default_factory=list)
    """Every leaderboard: one, or one per category (Arena-Hard v2.0)."""
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
    runner: StageRunner,
    judges: dict[str, str],
    *,
    control: Control = DEFAULT_CONTROL,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
) -> PipelineResult:
    """Answer, judge with every judge in ``judges`` (name → API model), ensemble, rank."""
    check_not_published(bench, model, list(judges))
    result = PipelineResult()
    answered = answer(bench, [model], answer_settings, runner)
    result.stages.append(answered)
    if answered.exit_code:
        result.failed_stage = "answer"
        return result
    result.plan = plan_judging(
        bench,
        JudgeProtocol.from_settings(judge_settings),
        judges,
        [model],
        judge_settings.baseline_model,
        categories=judge_settings.categories,
    )
    judged = judge(bench, result.plan, runner)
    result.stages.append(judged)
    if judged.exit_code:
        result.failed_stage = "judge"
        return result
    result.ensemble = write_ensemble(bench, list(judges), [model])
    if judge_settings.categories:
        by_category = compute_category_leaderboards(
            bench, [control], judges=[ENSEMBLE_JUDGE], rounds=rounds, seed=seed,
            settings=judge_settings.categories,
        )
        result.boards = [boards[control] for boards in by_category.values()]
    else:
        result.boards = [compute_leaderboard(
            bench,
            control,
            judges=[ENSEMBLE_JUDGE],
            baseline=judge_settings.baseline_model,
            rounds=rounds,
            seed=seed,
        )]
    result.board = result.boards[0]
    return result
