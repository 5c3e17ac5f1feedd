"""`koarena serve`: loopback only, UTF-8 content types, refuses a directory that is no site."""

from __future__ import annotations

import argparse
import threading
import urllib.request
from pathlib import Path

import pytest

from koarena.cli import serve_cmd
from koarena.errors import DataError
from koarena.report.serve import make_server


def test_serves_site_files_on_loopback(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>한국어</title>", "utf-8")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "index.js").write_text('koarenaShard("index",{});\n', "utf-8")
    server = make_server(tmp_path, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
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
