"""``scripts/quickstart.sh`` where there is no data and it cannot be downloaded: one clear message
before anything is installed, and nothing left behind."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # closed again: connecting to it is refused


def test_quickstart_without_data_stops_before_installing(tmp_path: Path) -> None:
    # A copy of the repository's parts the script reads, with no data in it or beside it.
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    (repo / "src" / "koarena").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "quickstart.sh", repo / "scripts")
    shutil.copy(REPO / "src" / "koarena" / "datapull.py", repo / "src" / "koarena")
    proxy = f"http://127.0.0.1:{closed_port()}"  # the download fails here, online or not
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KOARENA_") and k.lower() not in {"https_proxy", "no_proxy"}}
    env |= {"https_proxy": proxy, "HTTPS_PROXY": proxy}
    r = subprocess.run(["bash", str(repo / "scripts" / "quickstart.sh")], env=env,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 1, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == ("error: no benchmark data in data/ko-arena-hard-v0.1/, and the published "
                        "data cannot be downloaded")
    assert lines[1].startswith("(https://github.com/") and "refused" in lines[1]
    assert lines[2:] == [
        "If you have the data, point at the directory that holds ko-arena-hard-v0.1/:",
        "  KOARENA_DATA_DIR=/path/to/data ./scripts/quickstart.sh",
        "(every koarena command also takes --data-dir /path/to/data).",
    ]
    # nothing installed, no empty ./data
    assert sorted(p.name for p in repo.iterdir()) == ["scripts", "src"]
