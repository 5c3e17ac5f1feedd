"""The translated bench's judging protocol: the source's, with Korean judge prompts.

``judge_config.yaml`` is copied with ``bench_name`` set to the new bench. ``judge_settings.yaml``
(v2.0: a baseline and a judge system prompt per category) is copied with every category's
prompt given the Korean-fluency instructions of the Korean v0.1 prompt (`judge_prompts`), or
verbatim with ``judge_prompt="source"``. The edits are read off the pair (English v0.1 prompt:
the source settings' ``arena-hard-v0.1`` category; Korean v0.1 prompt: ``korean_reference``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from koarena.bench import Bench
from koarena.errors import ConfigError
from koarena.outfile import atomic_open
from koarena.translation.judge_prompts import korean_edits, korean_judge_settings
from koarena.yamlfile import load_mapping

JUDGE_SETTINGS = "judge_settings.yaml"
ENGLISH_REFERENCE_CATEGORY = "arena-hard-v0.1"
JUDGE_PROMPTS = ("korean", "source")


def _dump(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path) as fh:
        yaml.safe_dump(data, fh, sort_keys=False, allow_unicode=True, width=100)


def korean_settings(settings: dict[str, Any], korean_reference: Path) -> dict[str, Any]:
    """``settings`` (a v2.0 judge_settings mapping) with Korean judge prompts."""
    korean = load_mapping(korean_reference).get("system_prompt")
    if not isinstance(korean, str) or not korean:
        raise ConfigError(f"{korean_reference}: no system_prompt to take the Korean "
                          "instructions from")
    categories = settings.get("categories") or {}
    english = (categories.get(ENGLISH_REFERENCE_CATEGORY) or {}).get("system_prompt")
    if not isinstance(english, str):
        raise ConfigError(f"judge settings have no {ENGLISH_REFERENCE_CATEGORY!r} category to "
                          "compare the Korean v0.1 prompt with (use --judge-prompt source)")
    out = korean_judge_settings(settings, korean_edits(english, korean))
    out["source"] = (f"{settings.get('source', 'judge settings')}; system prompts with the "
                     f"Korean-fluency instructions of {korean_reference.parent.name}")
    return out


def copy_judge_files(source: Bench, target: Bench, judge_prompt: str,
                     korean_reference: Path | None) -> list[Path]:
    """Write the target's judge files from the source's; return the paths written."""
    if judge_prompt not in JUDGE_PROMPTS:
        raise ConfigError(f"unknown judge prompt {judge_prompt!r}; known: {JUDGE_PROMPTS}")
    written = []
    if source.judge_config_file.is_file():
        cfg = load_mapping(source.judge_config_file)
        cfg["bench_name"] = target.name
        _dump(target.judge_config_file, cfg)
        written.append(target.judge_config_file)
    settings_file = source.root / JUDGE_SETTINGS
    if settings_file.is_file():
        settings = load_mapping(settings_file)
        if judge_prompt == "korean":
            if korean_reference is None or not korean_reference.is_file():
                raise ConfigError(f"Korean judge prompts need the Korean v0.1 judge config "
                                  f"({korean_reference or 'not given'} not found); give "
                                  "--korean-judge-config or use --judge-prompt source")
            settings = korean_settings(settings, korean_reference)
        _dump(target.root / JUDGE_SETTINGS, settings)
        written.append(target.root / JUDGE_SETTINGS)
    return written
