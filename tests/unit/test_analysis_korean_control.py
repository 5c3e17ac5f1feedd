from __future__ import annotations

from koarena.controls import Control, KoreanStyleMeta, style_metas
from koarena.records import Answer, StyleMeta

META = StyleMeta(token_len=3, header_count={"h1": 1}, list_count={}, bold_count={})


def test_style_korean_control() -> None:
    assert Control("style+korean") is Control.STYLE_KOREAN
    assert Control.STYLE_KOREAN.features == (*Control.STYLE.features, "korean_share")
    assert Control.STYLE_KOREAN.csv_name == "style_korean_control"


def test_style_metas_adds_the_korean_share_only_when_needed() -> None:
    answers = {
        "m": {
            "q1": Answer("q1", "m", ["한국어 hello"], meta=META),
            "q2": Answer("q2", "m", ["This is the answer, written in English for the user."]),
        }
    }
    plain = style_metas(answers, Control.STYLE.features)
    assert plain["m"]["q1"] == META
    assert not isinstance(plain["m"]["q1"], KoreanStyleMeta)
    korean = style_metas(answers, Control.STYLE_KOREAN.features)
    meta = korean["m"]["q1"]
    assert isinstance(meta, KoreanStyleMeta)
    # 3 Hangul of 8 letters; the style counts are kept.
    assert meta.korean_share == 300 / 8
    assert (meta.token_len, meta.headers) == (3, 1)
    # an answer without stored metadata gets it computed from its text (no Hangul: share 0)
    q2 = korean["m"]["q2"]
    assert isinstance(q2, KoreanStyleMeta)
    assert (q2.korean_share, q2.headers) == (0.0, 0)
    assert q2.token_len == plain["m"]["q2"].token_len > 0
