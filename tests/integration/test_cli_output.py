"""What the commands print when their output is not a terminal (pipes, files, CI logs), a reader
that closes the pipe early, and the help of every command."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from koarena.cli import build_parser, main
from koarena.cli.commands import COMMANDS

BENCH = "ko-arena-hard-v0.1"
TITLE = (
    f"{BENCH} · judge ensemble · baseline claude-3.7-sonnet · style control, 20 bootstrap "
    "rounds (battles resampled)"
)


def koarena(*args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOARENA_")}
    return subprocess.run([sys.executable, "-m", "koarena", *args], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=120, check=False)


def test_piped_leaderboard_is_plain_unwrapped_lines(small_bench) -> None:  # type: ignore[no-untyped-def]
    data = small_bench()
    judgments = data / BENCH / "model_judgment" / "ensemble" / "o3-high.jsonl"
    with open(judgments, "a", encoding="utf-8") as fh:
        fh.write('{"question_id": "torn", "mod')  # a crash mid-append: one warning on stderr
    r = koarena("leaderboard", "--data-dir", str(data), "--rounds", "20")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    # the default is the published leaderboard's, and the first line says so
    assert lines[0] == TITLE
    assert [ln.split()[3] for ln in lines if "│" in ln] == [
        "o3-high", "claude-3.7-sonnet", "gpt-4o-mini"
    ]
    assert lines[-2].startswith("style coefficients: token_len ")
    # one line however long (the footer is over 160 characters), no padding, no colour codes
    assert lines[-1] == (
        "200 battles from 3 models · games dropped (missing or unknown verdict): 0 · judgments "
        "with a single game: 0 · flagged answers: 0 (0 failed-call markers, 0 empty, 0 cut off "
        "at the token limit, 0 filtered; see 'koarena data check')"
    )
    assert [ln for ln in lines if ln != ln.rstrip()] == []
    assert "\x1b" not in r.stdout + r.stderr
    assert r.stderr == (
        f"warning: {judgments}: line 21 is a torn (incomplete) last line; ignored\n"
    )


def test_leaderboard_defaults_to_the_published_fit(small_bench, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = small_bench()
    out = tmp_path / "lb.json"
    assert main(["leaderboard", "--data-dir", str(data), "--output", str(out)]) == 0
    doc = out.read_text(encoding="utf-8")
    assert '"control": "style"' in doc and '"rounds": 1000' in doc and '"seed": 42' in doc


@pytest.mark.parametrize("args", [["leaderboard"], ["--help"], ["leaderboard", "--help"]])
def test_a_reader_that_closed_the_pipe_is_no_error(small_bench, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    """`koarena leaderboard | head -1`: the reader goes away; we stop quietly with status 0."""
    data = small_bench()
    read_end, write_end = os.pipe()
    os.close(read_end)  # closed before koarena starts: its first write fails, every time
    try:
        r = koarena(*args, "--data-dir", str(data), "--rounds", "5", stdout=write_end)
    finally:
        os.close(write_end)
    assert (r.returncode, r.stderr) == (0, "")


def _commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """Every command and subcommand the parser knows, as argument tuples."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found.extend(_commands(sub, (*prefix, name)))
    return found


def test_help_lists_the_commands_in_pipeline_order(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    block = out.split("COMMAND\n", 1)[1].split("\n\n")[0].splitlines()
    listed = [ln.split()[0] for ln in block if not ln[4].isspace()]  # not a help continuation
    assert listed == ["data", "translate", "answer", "judge", "import-batch", "ensemble",
                      "leaderboard", "run", "report", "serve", "analyze", "fake-server"]
    assert [c[0] for c in _commands(build_parser()) if len(c) == 1] == listed


def test_help_on_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    commands = _commands(build_parser())
    assert ("data", "pull") in commands and ("data", "check") in commands
    assert len(commands) == 14  # 12 commands, and data's pull and check
    for command in commands:
        with pytest.raises(SystemExit) as exc:
            main([*command, "--help"])
        assert exc.value.code == 0, command
        out = capsys.readouterr().out
        assert out.startswith(f"usage: koarena {' '.join(command)} "), command
        assert "options:\n  -h, --help" in out, command


def _help(parser: argparse.ArgumentParser, args: list[str],
          capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        parser.parse_args(args)
    return capsys.readouterr().out


def test_a_command_builds_only_its_own_parser_and_helps_the_same(
        capsys: pytest.CaptureFixture[str]) -> None:
    full = build_parser()
    listing = _help(full, ["--help"], capsys)
    assert _help(build_parser(only=""), ["--help"], capsys) == listing
    for name in COMMANDS:
        lazy = build_parser(only=name)
        built = {c[0] for c in _commands(lazy) if len(c) > 1}
        assert built <= {name}, name  # only the chosen command has subcommands built
        assert _help(lazy, ["--help"], capsys) == listing, name
        assert _help(lazy, [name, "--help"], capsys) == _help(full, [name, "--help"], capsys)


def test_listing_the_commands_imports_none_of_them() -> None:
    code = ("import sys; from koarena.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.endswith('_cmd') or m in "
            "('aiohttp', 'scipy.sparse', 'koarena.analysis', 'koarena.report')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
