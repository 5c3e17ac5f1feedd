"""Bad records on disk: every field is checked where it is read. Commands stop with one line
`file:line: what is wrong` and exit 2 before writing anything; `data check` lists the line and
carries on. Duplicate judgments, foreign records, stray files and empty question files."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import orjson
import pytest

from koarena.cli import main

BENCH = "ko-arena-hard-v0.1"
MODELS = ("claude-3.7-sonnet", "gpt-4o-mini", "o3-high")


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


def rewrite(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))


def spoil(path: Path, line: int, change: dict[str, Any]) -> None:
    """Replace fields of the record on 1-based ``line`` (a dotted key reaches into objects)."""
    rows = lines_of(path)
    for key, value in change.items():
        node = rows[line - 1]
        *parents, last = key.split(".")
        for k in parents:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[last] = value
    rewrite(path, rows)


def answer_dry_run(data: Path) -> list[str]:
    """``koarena answer --dry-run`` arguments for a model ``m`` on a local endpoint: a
    command that loads the questions strictly and sends nothing."""
    settings = data / "gen_answer_config.yaml"
    settings.write_text(f"bench_name: {BENCH}\nmodel_list: [m]\n", encoding="utf-8")
    endpoints = data / "api_config.yaml"
    endpoints.write_text("m:\n  model_name: m\n  endpoints:\n"
                         "    - api_base: http://127.0.0.1:9/v1\n", encoding="utf-8")
    return ["answer", "--setting-file", str(settings), "--endpoint-file", str(endpoints),
            "--data-dir", str(data), "--dry-run"]


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0].removeprefix("error: ")


BAD_ANSWERS = [
    ("tstamp", "yesterday", "answer {qid}: tstamp must be a number, got a string"),
    ("choices.0.turns", None, "answer {qid}: choices[0].turns must be a list, got null"),
    ("choices.0.turns", 5, "answer {qid}: choices[0].turns must be a list, got a number"),
    ("conv_metadata.header_count", [1, 2],
     "header_count must be an object of counts or a count, got a list"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_ANSWERS)
def test_wrong_typed_answer_field_is_one_line_and_nothing_written(
    small_bench: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    field: str, value: Any, message: str,
) -> None:
    data = small_bench(MODELS, 10)
    f = data / BENCH / "model_answer" / "gpt-4o-mini.jsonl"
    spoil(f, 4, {field: value})
    qid = lines_of(f)[3]["question_id"]
    out = tmp_path / "lb.csv"
    err = one_line_error(capsys, ["leaderboard", "--data-dir", str(data), "--rounds", "0",
                                  "--control", "style", "--output", str(out)])
    assert err == f"{f}:4: " + message.format(qid=qid)
    assert not out.exists()


def test_v2_message_that_is_not_an_object(small_bench: Any, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    data = small_bench(MODELS, 10)
    f = data / BENCH / "model_answer" / "o3-high.jsonl"
    rows = lines_of(f)
    rows[1] = {"uid": rows[1]["question_id"], "model": "o3-high", "messages": [1]}
    rewrite(f, rows)
    err = one_line_error(capsys, ["leaderboard", "--data-dir", str(data), "--rounds", "0"])
    assert err == (f"{f}:2: answer {rows[1]['uid']}: a message must be an object, "
                   "got a number")


def test_question_turns_null_and_string(small_bench: Any, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    data = small_bench(MODELS, 10)
    q = data / BENCH / "question.jsonl"
    spoil(q, 3, {"turns": None})
    qid = lines_of(q)[2]["question_id"]
    err = one_line_error(capsys, answer_dry_run(data))
    assert err == f"{q}:3: question {qid}: turns must be a non-empty list, got null"
    spoil(q, 3, {"turns": "hello"})
    err = one_line_error(capsys, answer_dry_run(data))
    assert err == f"{q}:3: question {qid}: turns must be a non-empty list, got a string"


def test_data_check_lists_every_bad_field_and_carries_on(
    small_bench: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(MODELS, 10)
    answers = data / BENCH / "model_answer" / "gpt-4o-mini.jsonl"
    for line, (field, value, _) in enumerate(BAD_ANSWERS, 1):
        spoil(answers, line, {field: value})
    questions = data / BENCH / "question.jsonl"
    spoil(questions, 2, {"turns": None})
    judgments = data / BENCH / "model_judgment" / "ensemble" / "o3-high.jsonl"
    spoil(judgments, 5, {"games": [7, {"score": "A>B"}]})
    assert main(["data", "check", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert f"{answers}:1: answer " in out and "tstamp must be a number, got a string" in out
    assert f"{answers}:2: answer " in out and "turns must be a list, got null" in out
    assert f"{answers}:3: answer " in out and "turns must be a list, got a number" in out
    assert f"{answers}:4: header_count must be an object of counts" in out
    assert f"{questions}:2: question " in out
    assert f"{judgments}:5: judgment " in out and "a game must be an object or null" in out
    assert "9 questions;" in out
    assert main(["data", "check", "--data-dir", str(data), "--strict"]) == 1


def test_identical_duplicate_judgments_are_dropped_with_a_warning(
    small_bench: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = small_bench(MODELS, 30)
    f = data / BENCH / "model_judgment" / "ensemble" / "gpt-4o-mini.jsonl"
    clean = tmp_path / "clean.json"
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0",
                 "--output", str(clean)]) == 0
    assert "duplicate" not in caplog.text
    rows = lines_of(f)
    rewrite(f, rows + rows[:10])  # a second run wrote ten of the same verdicts again
    dup = tmp_path / "dup.json"
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0",
                 "--output", str(dup)]) == 0
    assert f"{f}: dropped 10 duplicate judgments (same question, same verdicts)" in caplog.text
    score = {x["model"]: x["score"] for x in orjson.loads(dup.read_bytes())["rows"]}
    assert score == {x["model"]: x["score"] for x in orjson.loads(clean.read_bytes())["rows"]}


def test_conflicting_duplicate_judgment_is_an_error(
    small_bench: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(MODELS, 30)
    f = data / BENCH / "model_judgment" / "ensemble" / "gpt-4o-mini.jsonl"
    rows = lines_of(f)
    other = {**rows[2], "games": [{"score": "B>>A"}, {"score": "A>>B"}]}
    rewrite(f, [*rows, other])
    first = "/".join(g["score"] for g in rows[2]["games"])
    out = tmp_path / "lb.csv"
    err = one_line_error(capsys, ["leaderboard", "--data-dir", str(data), "--rounds", "0",
                                  "--output", str(out)])
    assert err == (f"{f}:31: question {rows[2]['question_id']} judged again with different "
                   f"verdicts (B>>A/A>>B here, {first} on line 3); keep one of the two lines")
    assert not out.exists()


def test_judgment_of_another_model_is_an_error(
    small_bench: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(MODELS, 10)
    f = data / BENCH / "model_judgment" / "ensemble" / "gpt-4o-mini.jsonl"
    spoil(f, 6, {"model": "o3-high"})
    err = one_line_error(capsys, ["leaderboard", "--data-dir", str(data), "--rounds", "0"])
    assert err == f"{f}:6: a judgment of model 'o3-high' in the file of model 'gpt-4o-mini'"


def test_judged_model_without_answers_is_warned(small_bench: Any,
                                               caplog: pytest.LogCaptureFixture) -> None:
    data = small_bench(MODELS, 10)
    gone = data / BENCH / "model_answer" / "o3-high.jsonl"
    gone.unlink()
    # style control (the default) needs every judged answer's counts: without control only
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0", "--control", "none"]) == 0
    assert (f"o3-high is judged but has no answer file ({gone}): its average tokens show 0"
            in caplog.text)


def test_appledouble_and_hidden_files_are_not_models(
    small_bench: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(MODELS, 10)
    for sub in ("model_answer", "model_judgment/ensemble"):
        (data / BENCH / sub / "._gpt-4o-mini.jsonl").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    (data / BENCH / "model_judgment" / ".hidden").mkdir()
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0"]) == 0
    assert main(["data", "check", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "._gpt" not in out and ".hidden" not in out


def test_empty_question_file_is_no_questions(
    small_bench: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(MODELS, 10)
    q = data / BENCH / "question.jsonl"
    q.write_bytes(b"")
    for argv in (answer_dry_run(data), ["data", "check", "--data-dir", str(data)]):
        assert one_line_error(capsys, argv) == f"{q}: no questions"


def rename_model(data: Path, old: str, new: str) -> None:
    """Give ``old``'s answers and verdicts to a model called ``new``."""
    for sub in ("model_answer", "model_judgment/ensemble"):
        src = data / BENCH / sub / f"{old}.jsonl"
        rows = lines_of(src)
        for r in rows:
            r["model_id" if sub == "model_answer" else "model"] = new
        rewrite(data / BENCH / sub / f"{new}.jsonl", rows)
        src.unlink()


def test_model_names_are_shown_not_obeyed_as_markup(
    small_bench: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(MODELS, 10)
    hostile = "[reverse][link=mailto:evil@example.com]x-model"
    rename_model(data, "o3-high", hostile)
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0"]) == 0
    assert hostile in capsys.readouterr().out
    assert main(["data", "check", "--data-dir", str(data), "--all"]) == 0
    assert hostile in capsys.readouterr().out


def test_csv_cells_never_start_a_formula(small_bench: Any, tmp_path: Path) -> None:
    data = small_bench(MODELS, 10)
    rename_model(data, "o3-high", "=HYPERLINK(\"http:evil\")")
    rename_model(data, "gpt-4o-mini", "@SUM(1+1)")
    out = tmp_path / "lb.csv"
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0",
                 "--output", str(out)]) == 0
    with open(out, encoding="utf-8", newline="") as fh:
        names = sorted(row["model"] for row in csv.DictReader(fh))
    assert names == ["'=HYPERLINK(\"http:evil\")", "'@SUM(1+1)", "claude-3.7-sonnet"]


@pytest.mark.parametrize("case", ["under_a_file", "long_name", "long_path", "a_directory"])
def test_unwritable_output_fails_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    (tmp_path / "file").write_text("x")
    out = {
        "under_a_file": tmp_path / "file" / "lb.csv",
        "long_name": tmp_path / ("x" * 300 + ".csv"),
        "long_path": tmp_path.joinpath(*["d" * 200] * 25, "lb.csv"),
        "a_directory": tmp_path / "dir.csv",
    }[case]
    if case == "a_directory":
        out.mkdir()
    reason = {
        "under_a_file": f"{tmp_path / 'file'} is not a directory",
        "long_name": "File name too long",
        "long_path": "File name too long",
        "a_directory": "it is a directory",
    }[case]
    # The data directory does not exist: the output is checked before anything is loaded.
    err = one_line_error(capsys, ["leaderboard", "--data-dir", str(tmp_path / "absent"),
                                  "--output", str(out)])
    assert err == f"cannot write {out}: {reason}"
    if case != "a_directory":
        json_out = out.with_suffix(".json")
        err = one_line_error(capsys, ["analyze", "--data-dir", str(tmp_path / "absent"),
                                      "--output", str(json_out)])
        assert err.startswith(f"cannot write {json_out}: ")
    if case == "a_directory":
        return  # a fine --output-dir
    err = one_line_error(capsys, ["leaderboard", "--data-dir", str(tmp_path / "absent"),
                                  "--control", "all", "--output-dir", str(out)])
    assert err.startswith(f"cannot write {out}/no_control.csv: ")
