"""Style control: which covariates a leaderboard discounts, and how they are built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


DEFAULT_CONTROL = Control.STYLE
"""The control of the published leaderboard, and so of every command and the report site."""

CONTROL_HELP = (
    "none: plain Bradley–Terry; style: discount answer length and markdown (headers, lists, "
    "bold), as the published leaderboard; length / markdown: only those; style+korean: style "
    "plus the answers' Hangul share, i.e. the leaderboard as if writing Korean did not matter"
)
"""What each control means, for the commands' help."""

STANDARD_CONTROLS = (Control.NONE, Control.STYLE, Control.LENGTH, Control.MARKDOWN)
"""The controls of the original tool (``style+korean`` is this tool's own)."""

_MARKDOWN = ("headers", "lists", "bolds")
_ALL = ("token_len", *_MARKDOWN)
_FEATURES = {
    Control.NONE: (),
    Control.STYLE: _ALL,
    Control.LENGTH: ("token_len",),
    Control.MARKDOWN: _MARKDOWN,
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
        m: {q: _with_korean_share(answer_meta(a), hangul_share_feature(a)) for q, a in by_q.items()}
        for m, by_q in answers.items()
    }


def _with_korean_share(meta: StyleMeta, share: float) -> KoreanStyleMeta:
    # Field by field, not dataclasses.asdict: asdict deep-copies the count dicts, which took
    # 3 s of a 10 s report rebuild over 38,000 answers; the metas are frozen and never mutated.
    return KoreanStyleMeta(
        meta.token_len, meta.header_count, meta.list_count, meta.bold_count, korean_share=share
    )


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
    if not features:
        return np.zeros((battles.a.shape[0], 0))
    raw_a, raw_b = _feature_values(battles, metas, features)
    return _standardise(battles, (raw_a - raw_b) / (raw_a + raw_b + 1.0))


def style_covariates_v2(
    battles: Battles,
    metas: Mapping[str, Mapping[str, StyleMeta]],
    features: tuple[str, ...],
) -> FloatArray:
    """Arena-Hard v2.0's covariates (its ``show_result.py``), standardised as `style_covariates`.

    Length: (a − b) / (a + b), 0 when both are empty. Markdown counts become densities,
    count / (tokens + 1), and then (a − b) / (a + b + 1); a feature v2.0 lacks (the Korean
    share) is (a − b) / (a + b + 1) as in `style_covariates`. a is the baseline's value, b the
    model's: v2.0 writes b − a, which only flips the sign of both the covariate and its fitted
    coefficient.
    """
    if not features:
        return np.zeros((battles.a.shape[0], 0))
    # Densities need the lengths even when length itself is not controlled.
    with_len = ("token_len", *(f for f in features if f != "token_len"))
    raw_a, raw_b = _feature_values(battles, metas, with_len)
    len_a, len_b = raw_a[:, 0], raw_b[:, 0]
    total = len_a + len_b
    cols = {"token_len": np.divide(len_a - len_b, total, out=np.zeros_like(total),
                                   where=total != 0)}
    for i, f in enumerate(with_len[1:], 1):
        a, b = raw_a[:, i], raw_b[:, i]
        if f in _MARKDOWN:
            a, b = a / (len_a + 1.0), b / (len_b + 1.0)
        cols[f] = (a - b) / (a + b + 1.0)
    return _standardise(battles, np.stack([cols[f] for f in features], axis=1))


def _feature_values(
    battles: Battles,
    metas: Mapping[str, Mapping[str, StyleMeta]],
    features: tuple[str, ...],
) -> tuple[FloatArray, FloatArray]:
    """The baseline's and the model's raw feature values of every battle row."""
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
    return raw_a, raw_b


def _standardise(battles: Battles, ratio: FloatArray) -> FloatArray:
    """Mean 0 and standard deviation 1 per column over all (weighted) battles."""
    w = (battles.n_a + battles.n_b + battles.n_tie).astype(np.float64)
    mean = np.average(ratio, axis=0, weights=w)
    std = np.sqrt(np.average((ratio - mean) ** 2, axis=0, weights=w))
    std[std == 0] = 1.0
    out: FloatArray = (ratio - mean) / std
    return out
