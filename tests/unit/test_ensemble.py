from __future__ import annotations

from pathlib import Path

import pytest

from koarena.bench import Bench
from koarena.ensemble import ensemble_model, write_ensemble
from koarena.errors import DataError
from koarena.jsonl import append_jsonl, iter_jsonl
from koarena.records import Game, Judgment
from koarena.verdicts import combine_game, label_of


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["A>B", "A>>B"], "A>>B"),  # 1.5
        (["A>B", "B>A"], "A=B"),  # 0
        (["A>B", None, "garbage"], "A>B"),  # invalid labels are ignored, not counted as 0
        (["A>>B", "A>B", "B>A"], "A>B"),  # 2/3
        (["A>>B", "B>A"], "A>B"),  # 0.5
        (["A>>B", "A>B", "A>B"], "A>>B"),  # 4/3
        (["B>>A", "B>A"], "B>>A"),  # -1.5
        (["B>>A", "A>B", "B>A"], "B>A"),  # -2/3
        (["B>>A", "A>B"], "B>A"),  # -0.5
        (["B>A"], "B>A"),  # -1 exactly
        (["A>B"], "A>B"),  # +1 exactly
        ([None, None], None),
        ([], None),
    ],
)
def test_combine_game(labels: list[str | None], expected: str | None) -> None:
    assert combine_game(labels) == expected


def test_label_boundaries() -> None:
    assert label_of(1.0000001) == "A>>B"
    assert label_of(-1.0000001) == "B>>A"
    assert label_of(1e-9) == "A>B"
    assert label_of(-1e-9) == "B>A"


def _j(judge: str, qid: str, g1: str | None, g2: str | None, model: str = "m") -> Judgment:
    return Judgment(qid, model, judge, [Game(g1), Game(g2)])


def test_ensemble_model_counts_dropped_games_and_keeps_partial_questions() -> None:
    per_judge = {
        "j1": [_j("j1", "q1", "A>B", "B>>A"), _j("j1", "q2", None, "A=B")],
        "j2": [_j("j2", "q1", "A>>B", "B>A"), _j("j2", "q3", "B>A", "B>A")],
    }
    out, dropped = ensemble_model(per_judge, "m")
    assert [x.question_id for x in out] == ["q1", "q2", "q3"]
    assert [[g.score for g in x.games if g] for x in out] == [
        ["A>>B", "B>>A"],
        [None, "A=B"],
        ["B>A", "B>A"],
    ]
    assert dropped == 1
    assert all(x.judge == "ensemble" for x in out)


def test_write_ensemble_files(tmp_path: Path) -> None:
    bench = Bench(tmp_path, "b")
    for judge, g in (("j1", "A>B"), ("j2", "A>>B"), ("j3", "B>A")):
        append_jsonl(bench.judgment_file(judge, "m"), [_j(judge, "q1", g, g).to_dict()])
    s = write_ensemble(bench, ["j1", "j2", "j3"])
    assert (s.models, s.judgments, s.dropped_games) == (1, 1, 0)
    rows = [r for _, r in iter_jsonl(bench.judgment_file("ensemble", "m"))]
    assert rows == [
        {"question_id": "q1", "model": "m", "judge": "ensemble",
         "games": [{"score": "A>B"}, {"score": "A>B"}]}
    ]


def test_write_ensemble_rejects_unknown_judge_and_self(tmp_path: Path) -> None:
    bench = Bench(tmp_path, "b")
    append_jsonl(bench.judgment_file("j1", "m"), [_j("j1", "q1", "A>B", "A>B").to_dict()])
    with pytest.raises(DataError, match="unknown judge 'nope'"):
        write_ensemble(bench, ["j1", "nope"])
    with pytest.raises(DataError, match="itself"):
        write_ensemble(bench, ["j1", "ensemble"])


def test_write_ensemble_checks_every_input_before_replacing_any_file(tmp_path: Path) -> None:
    bench = Bench(tmp_path, "b")
    for model in ("a", "b"):
        for judge in ("j1", "j2"):
            append_jsonl(bench.judgment_file(judge, model),
                         [_j(judge, "q1", "A>B", "A>B", model).to_dict()])
    previous = {m: bench.judgment_file("ensemble", m) for m in ("a", "b")}
    for path in previous.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'{"question_id": "old"}\n')
    broken = bench.judgment_file("j2", "b")
    broken.write_bytes(broken.read_bytes() + b"{not json\n" + broken.read_bytes())
    with pytest.raises(DataError, match=r"j2/b\.jsonl:2: malformed JSON"):
        write_ensemble(bench, ["j1", "j2"])
    assert {m: p.read_bytes() for m, p in previous.items()} == {
        "a": b'{"question_id": "old"}\n', "b": b'{"question_id": "old"}\n'}
    assert sorted(p.name for p in previous["a"].parent.iterdir()) == ["a.jsonl", "b.jsonl"]
