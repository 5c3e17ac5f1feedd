"""Style control: which covariates a leaderboard discounts, and how they are built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np

from koarena.battles import Battles
from koarena.errors import DataError
from koarena.korean import hangul_share_feature
from koarena.rating import FloatArray
from koarena.records import Answer, StyleMeta
from koarena.style import conv_metadata


class Control(Enum):
    """What the Bradley–Terry fit controls for."""

    NONE = "none"
    STYLE = "style"
    LENGTH = "length"
    MARKDOWN = "markdown"
    STYLE_KOREAN = "style+korean"

    @property
    def features(self) -> tuple[str, ...]:
        return _FEATURES[self]

    @property
    def csv_name(self) -> str:
        """The original tool's file stem for this control."""
        if self is Control.NONE:
            return "no_control"
        return f"{self.value.replace('+', '_')}_control"


DEFAULT_CONTROL = Control.NONE
"""What a leaderboard controls for unless told otherwise."""

STANDARD_CONTROLS = (Control.NONE, Control.STYLE, Control.LENGTH, Control.MARKDOWN)
"""The controls of the original tool (``style+korean`` is this tool's own)."""

_ALL = ("token_len", "headers", "lists", "bolds")
_FEATURES = {
    Control.NONE: (),
    Control.STYLE: _ALL,
    Control.LENGTH: ("token_len",),
    Control.MARKDOWN: ("headers", "lists", "bolds"),
    Control.STYLE_KOREAN: (*_ALL, "korean_share"),
}


@dataclass(frozen=True)
class KoreanStyleMeta(StyleMeta):
    """Style metadata plus the answer's Hangul share in percent (`Control.STYLE_KOREAN`)."""

    korean_share: float = 100.0


def answer_meta(answer: Answer) -> StyleMeta:
    """The answer's stored ``conv_metadata``, or the same counts computed from its text
    (answer files written by other tools may lack it)."""
    return answer.meta if answer.meta is not None else conv_metadata(answer.text)


def style_metas(
    answers: Mapping[str, Mapping[str, Answer]], features: tuple[str, ...]
) -> dict[str, dict[str, StyleMeta]]:
    """The style metadata of every answer, with the Korean share when ``features`` need it."""
    if "korean_share" not in features:
        return {m: {q: answer_meta(a) for q, a in by_q.items()} for m, by_q in answers.items()}
    return {
        m: {
            q: KoreanStyleMeta(**asdict(answer_meta(a)), korean_share=hangul_share_feature(a))
            for q, a in by_q.items()
        }
        for m, by_q in answers.items()
    }


def feature_value(meta: StyleMeta, feature: str) -> float:
    return float(getattr(meta, feature))


def style_covariates(
    battles: Battles,
    metas: Mapping[str, Mapping[str, StyleMeta]],
    features: tuple[str, ...],
) -> FloatArray:
    """Standardised covariates, one column per feature, one row per battle row.

    Each is (a − b) / (a + b + 1) with a = the baseline's value and b = the model's value,
    then standardised to mean 0 and standard deviation 1 over all (weighted) battles.
    """
    n = battles.a.shape[0]
    if not features:
        return np.zeros((n, 0))
    q_index = {q: i for i, q in enumerate(battles.questions)}
    # values[model, question] holds the features of that answer; NaN where none is known
    values = np.full((len(battles.models), len(battles.questions), len(features)), np.nan)
    for mi, model in enumerate(battles.models):
        for qid, meta in metas.get(model, {}).items():
            qi = q_index.get(qid)
            if qi is not None:
                values[mi, qi] = [feature_value(meta, f) for f in features]
    raw_a = values[battles.a, battles.q]
    raw_b = values[battles.b, battles.q]
    gaps = np.concatenate([battles.a[np.isnan(raw_a[:, 0])], battles.b[np.isnan(raw_b[:, 0])]])
    if gaps.size:
        counts = np.bincount(gaps, minlength=len(battles.models))
        detail = ", ".join(
            f"{battles.models[i]} ({counts[i]})"
            for i in sorted(np.flatnonzero(counts), key=lambda i: battles.models[i])
        )
        raise DataError(
            "style control needs the length and markdown counts of every judged answer; "
            f"missing for: {detail}"
        )
    ratio = (raw_a - raw_b) / (raw_a + raw_b + 1.0)
    w = (battles.n_a + battles.n_b + battles.n_tie).astype(np.float64)
    mean = np.average(ratio, axis=0, weights=w)
    std = np.sqrt(np.average((ratio - mean) ** 2, axis=0, weights=w))
    std[std == 0] = 1.0
    out: FloatArray = (ratio - mean) / std
    return out
