"""`koarena data pull` against an archive served on 127.0.0.1, and `koarena data check`."""

from __future__ import annotations

import hashlib
import http.server
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback_http import serve_on_loopback

from koarena.bench import Bench
from koarena.cli import main
from koarena.datacheck import check_bench
from koarena.datapull import MB, Limits, pull
from koarena.errors import DataError

SmallBench = Callable[..., Path]
"""The ``small_bench`` fixture (tests/integration/conftest.py)."""
Served = tuple[str, Path]
"""The ``served`` fixture: the server's URL and the directory it serves."""

BENCH = "ko-arena-hard-v0.1"
ROOT = "ko-arena-hard-auto-main/"


def build_archive(src_data: Path, dest: Path, models: tuple[str, ...]) -> Path:
    """A zip in the layout of the ko-arena-hard-auto repository archive."""
    src = src_data / BENCH
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(ROOT + "README.md", "# ko-arena-hard-auto\n")
        zf.write(src / "judge_config.yaml", ROOT + "config/judge_config.yaml")
        zf.write(src / "question.jsonl", ROOT + f"data/{BENCH}/question.jsonl")
        for m in models:
            zf.write(src / "model_answer" / f"{m}.jsonl",
                     ROOT + f"data/{BENCH}/model_answer/{m}.jsonl")
            zf.write(src / "model_judgment" / "ensemble" / f"{m}.jsonl",
                     ROOT + f"data/{BENCH}/model_judgment/ensemble/{m}.jsonl")
        zf.writestr(ROOT + "gen_answer.py", "print('not data')\n")
    return dest


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """An HTTP server on 127.0.0.1 serving ``tmp_path/www``."""
    www = tmp_path / "www"
    www.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, directory=str(www), **kw)

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Handler) as url:
        yield url, www


MODELS = ("claude-3.7-sonnet", "gpt-4o-mini", "gemini-2.0-pro-exp-02-05")


def test_pull_installs_and_verifies(shared_data: Path, served: Served, tmp_path: Path) -> None:
    url, www = served
    archive = build_archive(shared_data, www / "main.zip", MODELS)
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    data = tmp_path / "data"
    assert main(["data", "pull", "--data-dir", str(data), "--url", f"{url}/main.zip",
                 "--sha256", sha]) == 0
    b = Bench(data)
    assert len(b.load_questions()) == 500
    assert b.answer_models() == sorted(MODELS)
    assert b.judged_models("ensemble") == sorted(MODELS)
    assert b.default_baseline() == "claude-3.7-sonnet"
    assert not (b.root / "gen_answer.py").exists()
    assert [p.name for p in data.iterdir()] == [BENCH]  # no temporary files left behind
    src = shared_data / BENCH / "model_answer" / "gpt-4o-mini.jsonl"
    assert (b.answer_dir / "gpt-4o-mini.jsonl").read_bytes() == src.read_bytes()
    # the pulled data feeds the leaderboard directly
    assert main(["leaderboard", "--data-dir", str(data), "--rounds", "0"]) == 0


def test_pull_refuses_to_overwrite_without_force(
    shared_data: Path, served: Served, tmp_path: Path
) -> None:
    url, www = served
    build_archive(shared_data, www / "main.zip", MODELS[:2])
    data = tmp_path / "data"
    pull(data, BENCH, f"{url}/main.zip")
    with pytest.raises(DataError, match="already exists"):
        pull(data, BENCH, f"{url}/main.zip")
    s = pull(data, BENCH, f"{url}/main.zip", force=True)
    assert s.answer_files == 2


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "HTTP 404"),
        ("not_zip", "did not return a zip archive"),
        ("checksum", "checksum mismatch"),
        ("bad_line", "malformed JSON"),
        ("no_questions", "exactly one data/ko-arena-hard-v0.1/question.jsonl"),
    ],
)
def test_failed_pull_leaves_nothing(
    shared_data: Path, served: Served, tmp_path: Path, setup: str, message: str
) -> None:
    url, www = served
    name = "main.zip"
    sha = None
    if setup == "not_zip":
        (www / name).write_text("<html>rate limited</html>")
    elif setup == "checksum":
        build_archive(shared_data, www / name, MODELS[:1])
        sha = "0" * 64
    elif setup == "bad_line":
        p = build_archive(shared_data, www / name, MODELS[:1])
        with zipfile.ZipFile(p, "a") as zf:
            zf.writestr(ROOT + f"data/{BENCH}/model_answer/broken.jsonl", "{nope\n{}\n")
    elif setup == "no_questions":
        with zipfile.ZipFile(www / name, "w") as zf:
            zf.writestr(ROOT + "README.md", "x")
    data = tmp_path / "data"
    with pytest.raises(DataError, match=message):
        pull(data, BENCH, f"{url}/{name}", sha256=sha)
    assert not data.exists()  # not even the empty directory


def test_check_finds_the_known_problems_of_the_shared_data(shared_data: Path) -> None:
    report = check_bench(Bench(shared_data))
    assert report.questions == 500
    assert len(report.answers) == 76
    flagged = {m: r.flagged for m, r in report.answers.items()}
    failures = {m: f.failure_markers for m, f in flagged.items() if f.failure_markers}
    assert failures == {"gemini-2.0-pro-exp-02-05": 26}
    empty = {m: f.empty for m, f in flagged.items() if f.empty}
    assert sum(empty.values()) == 9
    assert len(empty) == 6  # "9 answers in 6 other files are empty" (data README)
    assert all(r.missing_ids == 0 and r.duplicate_ids == 0 for r in report.answers.values())
    assert {m: r.unlabelled_games for m, r in report.judgments["ensemble"].items()
            if r.unlabelled_games} == {"o4-mini-high": 1}


def test_check_reports_torn_malformed_missing_and_duplicates(
    small_bench: SmallBench, capsys: pytest.CaptureFixture[str]
) -> None:
    data = small_bench(n_questions=10)
    f = data / BENCH / "model_answer" / "gpt-4o-mini.jsonl"
    lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
    f.write_text(
        "".join([lines[0], lines[0], "{bad json\n", *lines[3:], '{"question_id": "x", "mo']),
        encoding="utf-8",
    )
    report = check_bench(Bench(data))
    r = report.answers["gpt-4o-mini"]
    assert (r.duplicate_ids, r.missing_ids, len(r.malformed_lines), r.torn_tail) == (1, 2, 1, True)
    assert main(["data", "check", "--data-dir", str(data)]) == 0
    assert main(["data", "check", "--data-dir", str(data), "--strict"]) == 1
    out = capsys.readouterr().out
    assert "gpt-4o-mini" in out and "line 3" in out
    clean = small_bench(root=data.parent / "clean")
    assert main(["data", "check", "--data-dir", str(clean), "--strict"]) == 0


def test_pull_from_an_unreachable_host_says_how_to_point_at_the_data(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/main.zip"  # closed: the connection is refused
    data = tmp_path / "new" / "data"
    assert main(["data", "pull", "--data-dir", str(data), "--url", url]) == 2
    *_, err = capsys.readouterr().err.splitlines()
    assert err.startswith(f"error: download failed: cannot fetch {url} (")
    assert err.endswith(
        "; if you have the data, point at the directory that holds ko-arena-hard-v0.1/ with "
        "--data-dir or $KOARENA_DATA_DIR"
    )
    assert not (tmp_path / "new").exists()
def _add(archive: Path, rel: str, data: bytes) -> None:
    with zipfile.ZipFile(archive, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(ROOT + rel, data)


@pytest.mark.parametrize(
    ("rel", "content", "limits", "message"),
    [
        # A 100 MB all-whitespace answer file: a few hundred KB zipped, stopped at the cap.
        (f"data/{BENCH}/model_answer/bomb.jsonl", b" " * (100 * MB), Limits(),
         f"data/{BENCH}/model_answer/bomb.jsonl unpacks to more than 64 MB"),
        (f"data/{BENCH}/model_answer/bomb.jsonl", b"\n" * (3 * MB), Limits(file=2 * MB),
         "bomb.jsonl unpacks to more than 2 MB"),
        (f"data/{BENCH}/model_answer/spaces.jsonl", b" \n" * 1000, Limits(),
         "spaces.jsonl: no records"),
        (f"data/{BENCH}/model_answer/junk.jsonl", b'{"question_id": "x", "junk', Limits(),
         "junk.jsonl: the last line is incomplete"),
        (f"data/{BENCH}/model_judgment/ensemble/junk.jsonl", b"", Limits(),
         "junk.jsonl: no records"),
        (f"data/{BENCH}/model_answer/big.jsonl", b"\n" * (2 * MB), Limits(unpacked=3 * MB),
         "the archive unpacks to more than 3 MB"),
    ],
)
def test_hostile_archive_is_refused(  # type: ignore[no-untyped-def]
    shared_data: Path, served, tmp_path: Path, rel: str, content: bytes, limits: Limits,
    message: str,
) -> None:
    url, www = served
    archive = build_archive(shared_data, www / "main.zip", MODELS[:1])
    _add(archive, rel, content)
    data = tmp_path / "data"
    with pytest.raises(DataError, match=re.escape(message)):
        pull(data, BENCH, f"{url}/main.zip", limits=limits)
    assert not data.exists()  # not even the empty directory


def test_invalid_judge_config_is_not_installed(shared_data: Path, served, tmp_path: Path,  # type: ignore[no-untyped-def]
                                               capsys: pytest.CaptureFixture[str]) -> None:
    url, www = served
    src = shared_data / BENCH
    with zipfile.ZipFile(www / "main.zip", "w") as zf:
        zf.writestr(ROOT + "config/judge_config.yaml", "baseline_model: [claude\n")
        zf.write(src / "question.jsonl", ROOT + f"data/{BENCH}/question.jsonl")
    data = tmp_path / "data"
    assert main(["data", "pull", "--data-dir", str(data), "--url", f"{url}/main.zip"]) == 2
    err = capsys.readouterr().err
    assert "judge_config.yaml:2:1: invalid YAML: expected ',' or ']'" in err
    assert not data.exists()  # not even the empty directory


def test_download_is_capped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert main(["data", "pull", "--data-dir", str(data), "--url", "file:///dev/zero",
                 "--max-download", "2"]) == 2
    assert ("download stopped: file:///dev/zero is larger than 2 MB (raise --max-download if "
            "the archive has really grown)") in " ".join(capsys.readouterr().err.split())
    assert not data.exists()  # not even the empty directory


def test_download_is_capped_by_content_length(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, www = served
    (www / "main.zip").write_bytes(b"\0" * (3 * MB))
    with pytest.raises(DataError, match="larger than 1 MB"):
        pull(tmp_path / "data", BENCH, f"{url}/main.zip", limits=Limits(download=MB))


@pytest.fixture
def trickle() -> Iterator[str]:
    """A server on 127.0.0.1 that sends an endless archive slowly."""

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"PK" * (128 << 10))
                    self.wfile.flush()
                    time.sleep(0.02)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    with serve_on_loopback(Slow) as url:
        yield f"{url}/main.zip"


def test_sigterm_during_pull_leaves_nothing(trickle: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-m", "koarena", "data", "pull", "--data-dir",
                             str(data), "--url", trickle], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(p.stat().st_size > 0 for p in data.glob(".pull-*/archive.zip")):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "interrupted"
    assert not data.exists()  # not even the empty directory


def test_failed_forced_pull_keeps_the_installed_bench(shared_data: Path, served,  # type: ignore[no-untyped-def]
                                                      tmp_path: Path) -> None:
    url, www = served
    archive = build_archive(shared_data, www / "main.zip", MODELS[:1])
    data = tmp_path / "data"
    pull(data, BENCH, f"{url}/main.zip")
    before = {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()}
    _add(archive, f"data/{BENCH}/model_answer/junk.jsonl", b"{oops")
    with pytest.raises(DataError, match=r"junk\.jsonl: the last line is incomplete"):
        pull(data, BENCH, f"{url}/main.zip", force=True)
    after = {p.relative_to(data): p.read_bytes() for p in data.rglob("*") if p.is_file()}
    assert after == before


def test_archive_with_too_many_files_is_refused(shared_data: Path, served,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    url, www = served
    archive = build_archive(shared_data, www / "main.zip", MODELS[:1])
    with zipfile.ZipFile(archive, "a") as zf:
        for i in range(5):
            zf.writestr(ROOT + f"data/{BENCH}/model_answer/m{i}.jsonl", "{}\n")
    data = tmp_path / "data"
    with pytest.raises(DataError, match="the archive has 9 data files, more than 8: not the "
                                        "published benchmark"):
        pull(data, BENCH, f"{url}/main.zip", limits=Limits(files=8))
    assert not data.exists()  # not even the empty directory
