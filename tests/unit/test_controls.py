from __future__ import annotations

import numpy as np
import pytest

from koarena.battles import build_battles
from koarena.controls import Control, style_covariates
from koarena.errors import DataError
from koarena.records import Game, Judgment, StyleMeta


def meta(tokens: int, h: int = 0, lists: int = 0, bold: int = 0) -> StyleMeta:
    return StyleMeta(
        token_len=tokens,
        header_count={"h1": h, "h2": 0},
        list_count={"ordered": lists, "unordered": 0},
        bold_count={"**": bold, "__": 0},
    )


def test_style_covariates_ratio_and_weighted_standardisation() -> None:
    j = [
        Judgment("q1", "m", "j", [Game("A>B"), Game("A>B")]),  # 2 battles
        Judgment("q2", "m", "j", [Game("A>>B"), Game("A>B")]),  # 3 + 1 = 4 battles
    ]
    battles = build_battles(j, "base", weight=3)
    metas = {
        "base": {"q1": meta(10, 1), "q2": meta(30, 0)},
        "m": {"q1": meta(9, 0), "q2": meta(9, 2)},
    }
    z = style_covariates(battles, metas, ("token_len", "headers"))
    # token ratio: (10−9)/(10+9+1) = 0.05 and (30−9)/(30+9+1) = 0.525, weights 2 and 4
    r = np.array([0.05, 0.525])
    w = np.array([2.0, 4.0])
    mean = (r * w).sum() / w.sum()
    std = np.sqrt(((r - mean) ** 2 * w).sum() / w.sum())
    assert z[:, 0] == pytest.approx((r - mean) / std, abs=1e-12)
    # headers: (1−0)/2 = 0.5 and (0−2)/3; two distinct values standardise to ∓…
    h = np.array([0.5, -2 / 3])
    hm = (h * w).sum() / w.sum()
    hs = np.sqrt(((h - hm) ** 2 * w).sum() / w.sum())
    assert z[:, 1] == pytest.approx((h - hm) / hs, abs=1e-12)
    assert np.average(z, axis=0, weights=w) == pytest.approx([0.0, 0.0], abs=1e-12)


def test_control_features() -> None:
    assert Control.STYLE.features == ("token_len", "headers", "lists", "bolds")
    assert Control.LENGTH.features == ("token_len",)
    assert Control.MARKDOWN.features == ("headers", "lists", "bolds")
    assert Control.NONE.features == ()
    assert Control.NONE.csv_name == "no_control"
    assert Control.STYLE.csv_name == "style_control"


def test_missing_metadata_is_a_clear_error() -> None:
    battles = build_battles([Judgment("q1", "m", "j", [Game("A>B"), Game("A>B")])], "base")
    with pytest.raises(DataError, match=r"missing for: m \(1\)"):
        style_covariates(battles, {"base": {"q1": meta(1)}}, ("token_len",))


def test_answers_without_metadata_get_it_computed_from_their_text() -> None:
    from koarena.controls import style_metas
    from koarena.records import Answer

    stored = Answer("q1", "m", ["## 제목\n- 하나\n"], meta=meta(99, 7, 7, 7))
    bare = Answer("q2", "m", ["## 제목\n- 하나\n- 둘\n**굵게**"])
    out = style_metas({"m": {"q1": stored, "q2": bare}}, Control.STYLE.features)
    assert out["m"]["q1"].token_len == 99
    computed = out["m"]["q2"]
    assert (computed.headers, computed.lists, computed.bolds) == (1, 2, 1)
    assert computed.token_len > 0
