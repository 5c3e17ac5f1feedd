"""`koarena serve`: loopback only, UTF-8 content types, refuses a directory that is no site."""

from __future__ import annotations

import argparse
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from koarena.cli import main, serve_cmd
from koarena.errors import DataError
from koarena.report.serve import make_server

FAST_SHUTDOWN = {"poll_interval": 0.01}
"""``shutdown()`` waits for the serving loop's next poll: 0.5 s apiece by default."""


def test_serves_site_files_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>한국어</title>", "utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "index.js").write_text('koarenaShard("index",{});\n', "utf-8")
    server = make_server(tmp_path, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        assert host == "127.0.0.1"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/index.js") as resp:
            assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert resp.read() == b'koarenaShard("index",{});\n'
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html") as resp:
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert "한국어" in resp.read().decode("utf-8")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_refuses_a_directory_without_a_site(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"has no index\.html"):
        serve_cmd.run(argparse.Namespace(directory=tmp_path, port=0))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A served site with hidden files, a directory without index and symbolic links."""
    root = tmp_path / "site"
    (root / "data").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>ok</title>", "utf-8")
    (root / "data" / "index.js").write_text("ok\n", "utf-8")
    (root / ".env").write_text("OPENAI_API_KEY=sk-secret\n", "utf-8")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n", "utf-8")
    secret = tmp_path / "outside.txt"
    secret.write_text("not part of the site\n", "utf-8")
    (root / "link.txt").symlink_to(secret)
    (root / "linked").symlink_to(tmp_path)
    server = make_server(root, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs=FAST_SHUTDOWN, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/", 200),
        ("/data/index.js", 200),
        ("/data/", 404),  # no directory listing
        ("/.env", 404),
        ("/.git/config", 404),
        ("/data/../.env", 404),
        ("/link.txt", 404),
        ("/linked/outside.txt", 404),
        ("/index.html%00", 404),
        ("/%00/x", 404),
    ],
)
def test_serves_only_the_site(site: tuple[str, Path], path: str, code: int,
                              capsys: pytest.CaptureFixture[str]) -> None:
    base, _ = site
    assert status(base + path) == code
    assert "Traceback" not in capsys.readouterr().err


def _serve_error(capsys: pytest.CaptureFixture[str], directory: Path, port: int) -> str:
    assert main(["serve", str(directory), "--port", str(port)]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1, err
    return err[0]


def test_taken_or_invalid_port_is_one_line(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "index.html").write_text("<!doctype html>", "utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert _serve_error(capsys, tmp_path, port) == (
            f"error: port {port} on 127.0.0.1 is already in use (choose another with --port, "
            "or 0 for any free port)")
    for bad in (99999, -1):
        assert _serve_error(capsys, tmp_path, bad) == (
            f"error: --port must be between 0 and 65535, got {bad}")
