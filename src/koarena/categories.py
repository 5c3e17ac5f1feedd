"""Arena-Hard v2.0 categories: each question's category picks its baseline and judge prompt.

The settings are a mapping ``categories: {<name>: {baseline, system_prompt}}``, read from a
``judge_settings.yaml`` in the bench directory (beside ``judge_config.yaml``) or from the same
key in a judge setting file. A question belongs to its ``category`` (judged with that
category's settings, as the original ``gen_judgment.py`` does) and, for the leaderboard, also to
its ``subcategory`` when the settings name it: v2.0's ``coding`` and ``math`` are subcategories
of ``hard_prompt``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from koarena.bench import Bench
from koarena.errors import ConfigError, DataError
from koarena.records import Question
from koarena.yamlfile import load_mapping

SETTINGS_FILE = "judge_settings.yaml"


@dataclass(frozen=True)
class CategorySetting:
    """How one category is judged: its baseline model and the judge's system prompt."""

    name: str
    baseline: str
    system_prompt: str


Categories = dict[str, CategorySetting]


def parse_categories(raw: Any, where: str) -> Categories:
    """The ``categories`` mapping of a settings file, checked; raise `ConfigError` if bad."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where}: categories must be a non-empty mapping of category names")
    out: Categories = {}
    for name, entry in raw.items():
        here = f"{where}: category {name!r}"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{here}: expected a mapping with baseline and system_prompt")
        baseline = entry.get("baseline", entry.get("baseline_model"))
        prompt = entry.get("system_prompt")
        if not isinstance(baseline, str) or not baseline:
            raise ConfigError(f"{here}: baseline is required")
        if not isinstance(prompt, str) or not prompt:
            raise ConfigError(f"{here}: system_prompt is required")
        out[str(name)] = CategorySetting(str(name), baseline, prompt)
    return out


def settings_file(bench: Bench) -> Path:
    return bench.root / SETTINGS_FILE


def bench_categories(bench: Bench) -> Categories:
    """The bench's category settings, or an empty mapping for a single-baseline bench."""
    path = settings_file(bench)
    if not path.is_file():
        return {}
    raw = load_mapping(path, ConfigError)
    if "categories" not in raw:
        raise ConfigError(f"{path}: expected a 'categories' mapping")
    return parse_categories(raw["categories"], str(path))


def judged_category(question: Question, categories: Categories) -> CategorySetting:
    """The settings a question is judged with: those of its ``category``."""
    try:
        return categories[question.category]
    except KeyError:
        raise DataError(_unknown(question.category, categories)) from None


def check_questions(questions: Iterable[Question], categories: Categories) -> None:
    """Raise `DataError` naming the first question category that has no settings."""
    for q in questions:
        if q.category not in categories:
            raise DataError(f"question {q.question_id}: {_unknown(q.category, categories)}")


def _unknown(category: str, categories: Categories) -> str:
    return (
        f"category {category!r} has no judge settings "
        f"(settings exist for: {', '.join(categories)})"
    )


def members(questions: Iterable[Question], category: str) -> set[str]:
    """Ids of the questions in ``category``, by their category or their subcategory."""
    return {q.question_id for q in questions if category in (q.category, q.subcategory)}


def present(questions: list[Question], categories: Categories) -> list[str]:
    """Categories with settings that have at least one question, in the settings' order."""
    names = {q.category for q in questions} | {q.subcategory for q in questions}
    return [c for c in categories if c in names]


def default_tables(questions: list[Question], categories: Categories) -> list[str]:
    """The categories a leaderboard shows without ``--category``: the questions' own
    categories (a partition of the bench, so no question is counted twice), settings' order."""
    names = {q.category for q in questions}
    return [c for c in categories if c in names]


def select(
    requested: list[str] | None, questions: list[Question], categories: Categories
) -> list[str]:
    """The categories to show: the requested ones, checked, or `default_tables`."""
    if not requested:
        return default_tables(questions, categories)
    available = present(questions, categories)
    for c in requested:
        if c not in available:
            raise DataError(
                f"category {c!r} is not in this bench (categories: {', '.join(available)})"
            )
    return list(dict.fromkeys(requested))
