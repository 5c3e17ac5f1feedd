"""Per-judge verdict labels, keyed by (model, question), as the analyses read them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from koarena.bench import Bench
from koarena.records import Judgment
from koarena.verdicts import is_label

Key = tuple[str, str]
"""(model, question id)."""


@dataclass
class JudgeLabels:
    """One judge's labels of both games of each judgment; an unknown or missing label is None.

    Game 1 shows the baseline as assistant A, game 2 shows it as B (labels as the judge wrote
    them, not mirrored).
    """

    judge: str
    games: dict[Key, tuple[str | None, str | None]] = field(default_factory=dict)
    judgments: list[Judgment] = field(default_factory=list)


def _label(j: Judgment, index: int) -> str | None:
    label = j.label(index)
    return label if is_label(label) else None


def judge_labels(judge: str, judgments: Iterable[Judgment]) -> JudgeLabels:
    """Collect ``judgments`` of one judge; a later record of the same key replaces an earlier."""
    out = JudgeLabels(judge=judge)
    for j in judgments:
        out.games[(j.model, j.question_id)] = (_label(j, 0), _label(j, 1))
        out.judgments.append(j)
    return out


def load_judge_labels(bench: Bench, judges: Iterable[str]) -> dict[str, JudgeLabels]:
    """Labels of each judge from ``model_judgment/<judge>/*.jsonl`` (torn tails skipped)."""
    out: dict[str, JudgeLabels] = {}
    for judge in judges:
        judgments: list[Judgment] = []
        for model in bench.judged_models(judge):
            judgments.extend(bench.load_judgments(judge, model, strict=False))
        out[judge] = judge_labels(judge, judgments)
    return out
