"""Style control: which covariates a leaderboard discounts, and how they are built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np

from koarena.battles import Battles
from koarena.errors import DataError
from koarena.rating import FloatArray
from koarena.records import Answer, StyleMeta


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


def style_metas(
    answers: Mapping[str, Mapping[str, Answer]], features: tuple[str, ...]
) -> dict[str, dict[str, StyleMeta]]:
    """The style metadata of every answer that has it, with the Korean share when needed."""
    if "korean_share" not in features:
        return {
            m: {q: a.meta for q, a in by_q.items() if a.meta is not None}
            for m, by_q in answers.items()
        }
    # Imported here: koarena.analysis imports the leaderboard, which imports this module.
    from koarena.analysis.korean import hangul_share_feature

    return {
        m: {
            q: KoreanStyleMeta(**asdict(a.meta), korean_share=hangul_share_feature(a))
            for q, a in by_q.items()
            if a.meta is not None
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
    raw_a = np.empty((n, len(features)))
    raw_b = np.empty((n, len(features)))
    missing: dict[str, int] = {}
    for r in range(n):
        qid = battles.questions[battles.q[r]]
        for side, idx, out in (("a", battles.a[r], raw_a), ("b", battles.b[r], raw_b)):
            model = battles.models[idx]
            meta = metas.get(model, {}).get(qid)
            if meta is None:
                missing[model] = missing.get(model, 0) + 1
                out[r] = np.nan
                continue
            del side
            out[r] = [feature_value(meta, f) for f in features]
    if missing:
        detail = ", ".join(f"{m} ({c})" for m, c in sorted(missing.items()))
        raise DataError(
            "style control needs the length and markdown counts of every judged answer; "
            f"missing for: {detail}"
        )
    ratio = (raw_a - raw_b) / (raw_a + raw_b + 1.0)
    w = (battles.n_a + battles.n_b + battles.n_tie).astype(np.float64)
    mean = np.average(ratio, axis=0, weights=w)
    std = np.sqrt(np.average((ratio - mean) ** 2, axis=0, weights=w))
    std[std == 0] = 1.0
    return (ratio - mean) / std
