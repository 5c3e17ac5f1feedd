"""Korean judge system prompts for a translated bench, made the way the seed's was.

Ko-Arena-Hard v0.1's ``judge_config.yaml`` is arena-hard's v0.1 judge prompt with two edits,
paragraph by paragraph: a paragraph on the language of the answers (fluent Korean earns
credit, other languages and unnatural code-switching are penalised) and "fluent" added to the
qualities the judge weighs. `korean_edits` reads those edits off the pair (English prompt,
Korean prompt); `apply_edits` makes them to another prompt, anchored on the paragraphs they
touch, so that each v2.0 category (whose prompts differ in other paragraphs, as creative
writing's does) gets the same Korean instructions and keeps its own.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass
from typing import Any

from koarena.errors import ConfigError

_SEP = "\n\n"


@dataclass(frozen=True)
class Edit:
    """Replace the paragraphs ``old`` (consecutive; empty: insert before ``anchor``) by ``new``."""

    old: tuple[str, ...]
    new: tuple[str, ...]
    anchor: str | None = None


def _paragraphs(text: str) -> list[str]:
    return text.strip().split(_SEP)


def korean_edits(english: str, korean: str) -> list[Edit]:
    """The paragraph edits that turn ``english`` into ``korean``."""
    en, ko = _paragraphs(english), _paragraphs(korean)
    edits = []
    matcher = difflib.SequenceMatcher(a=en, b=ko, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        anchor = en[i1] if op == "insert" and i1 < len(en) else None
        edits.append(Edit(tuple(en[i1:i2]), tuple(ko[j1:j2]), anchor))
    if not edits:
        raise ConfigError("the Korean judge prompt does not differ from the English one")
    return edits


def _find(pars: list[str], seq: tuple[str, ...]) -> int:
    for i in range(len(pars) - len(seq) + 1):
        if tuple(pars[i:i + len(seq)]) == seq:
            return i
    return -1


def apply_edits(prompt: str, edits: list[Edit], where: str) -> str:
    """``prompt`` with ``edits`` made; `ConfigError` if a paragraph they touch is not in it."""
    pars = _paragraphs(prompt)
    for e in edits:
        if e.old:
            i = _find(pars, e.old)
            if i < 0:
                raise ConfigError(f"{where}: judge prompt has no paragraph {e.old[0][:60]!r}…; "
                                  "cannot add the Korean instructions")
            pars[i:i + len(e.old)] = e.new
        elif e.anchor is None:
            pars.extend(e.new)
        else:
            i = _find(pars, (e.anchor,))
            if i < 0:
                raise ConfigError(f"{where}: judge prompt has no paragraph "
                                  f"{e.anchor[:60]!r}…; cannot add the Korean instructions")
            pars[i:i] = e.new
    return _SEP.join(pars)


def korean_judge_settings(settings: dict[str, Any], edits: list[Edit]) -> dict[str, Any]:
    """A copy of a v2.0 ``judge_settings.yaml`` mapping with every category's system prompt
    made Korean; baselines and other keys unchanged."""
    out = copy.deepcopy(settings)
    categories = out.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise ConfigError("judge settings: no categories")
    for name, cat in categories.items():
        if not isinstance(cat, dict) or not isinstance(cat.get("system_prompt"), str):
            raise ConfigError(f"judge settings: category {name!r} has no system_prompt")
        cat["system_prompt"] = apply_edits(cat["system_prompt"], edits, f"category {name}")
    return out
