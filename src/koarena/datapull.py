"""`koarena data pull`: fetch the published Korean benchmark into a data directory.

The source is the ko-arena-hard-auto repository archive (a zip of the repository). From it we
take ``data/<bench>/question.jsonl``, ``data/<bench>/model_answer/*.jsonl``,
``data/<bench>/model_judgment/ensemble/*.jsonl`` and ``config/judge_config.yaml``. Everything is
unpacked into a temporary directory beside the target and verified (every line parses into a
typed record, the question set is complete, every answer/judgment file refers only to known
questions) before it replaces the bench directory, so a failed pull leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from koarena.bench import Bench, check_name
from koarena.ensemble import ENSEMBLE_JUDGE
from koarena.errors import DataError

log = logging.getLogger(__name__)

DEFAULT_URL = "https://github.com/qwopqwop200/ko-arena-hard-auto/archive/refs/heads/main.zip"
EXPECTED_QUESTIONS = {"ko-arena-hard-v0.1": 500}

ProgressFn = Callable[[int, int | None], None]


@dataclass
class PullSummary:
    bench_dir: Path
    questions: int
    answer_files: int
    judgment_files: int
    sha256: str


def download(url: str, dest: Path, progress: ProgressFn | None = None, timeout: float = 60) -> str:
    """Stream ``url`` to ``dest``; returns the sha256 of what arrived."""
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
            total_hdr = resp.headers.get("Content-Length")
            total = int(total_hdr) if total_hdr and total_hdr.isdigit() else None
            done = 0
            while chunk := resp.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise DataError(f"download failed: {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"download failed: cannot fetch {url} ({reason})") from exc
    return digest.hexdigest()


def _members(zf: zipfile.ZipFile, bench: str) -> tuple[str, dict[str, str]]:
    """Find the archive's root prefix; map archive member → path relative to the bench dir."""
    marker = f"data/{bench}/question.jsonl"
    roots = [n[: -len(marker)] for n in zf.namelist() if n.endswith(marker)]
    if len(roots) != 1:
        raise DataError(f"archive does not contain exactly one {marker}")
    root = roots[0]
    wanted: dict[str, str] = {}
    base = f"{root}data/{bench}/"
    for name in zf.namelist():
        if name.endswith("/"):
            continue
        if name.startswith(base):
            rel = PurePosixPath(name[len(base):])
            parts = rel.parts
            ok = (
                parts == ("question.jsonl",)
                or (len(parts) == 2 and parts[0] == "model_answer" and rel.suffix == ".jsonl")
                or (
                    len(parts) == 3
                    and parts[:2] == ("model_judgment", ENSEMBLE_JUDGE)
                    and rel.suffix == ".jsonl"
                )
            )
            if ok:
                check_name(rel.stem)
                wanted[name] = str(rel)
    cfg = f"{root}config/judge_config.yaml"
    if cfg in zf.namelist():
        wanted[cfg] = "judge_config.yaml"
    return root, wanted


def verify(bench: Bench) -> tuple[int, int, int]:
    """Load every file of ``bench`` strictly; returns (questions, answer files, judgment files)."""
    questions = bench.load_questions()
    expected = EXPECTED_QUESTIONS.get(bench.name)
    if expected is not None and len(questions) != expected:
        raise DataError(f"expected {expected} questions, the archive has {len(questions)}")
    qids = {q.question_id for q in questions}
    models = bench.answer_models()
    for m in models:
        unknown = set(bench.load_answers(m)) - qids
        if unknown:
            raise DataError(f"answers of {m} refer to {len(unknown)} unknown questions")
    judged = (bench.judged_models(ENSEMBLE_JUDGE)
              if bench.judgment_dir(ENSEMBLE_JUDGE).is_dir() else [])
    for m in judged:
        unknown = {j.question_id for j in bench.load_judgments(ENSEMBLE_JUDGE, m)} - qids
        if unknown:
            raise DataError(f"ensemble verdicts of {m} refer to {len(unknown)} unknown questions")
    return len(questions), len(models), len(judged)


def pull(
    data_dir: Path,
    bench_name: str,
    url: str = DEFAULT_URL,
    *,
    sha256: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> PullSummary:
    """Download, unpack, verify and install the bench; an existing bench needs ``force``."""
    target = Bench(data_dir, bench_name)
    if target.root.exists() and not force:
        raise DataError(f"{target.root} already exists (use --force to replace it)")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".pull-") as tmp:
        tmp_dir = Path(tmp)
        archive = tmp_dir / "archive.zip"
        digest = download(url, archive, progress)
        if sha256 and digest != sha256.lower():
            raise DataError(f"checksum mismatch: expected {sha256}, got {digest}")
        staged = Bench(tmp_dir / "staged", bench_name)
        try:
            with zipfile.ZipFile(archive) as zf:
                _, wanted = _members(zf, bench_name)
                for member, rel in wanted.items():
                    dest = staged.root / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(member) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{url} did not return a zip archive ({exc})") from exc
        n_q, n_a, n_j = verify(staged)
        if target.root.exists():
            shutil.rmtree(target.root)
        staged.root.rename(target.root)
    log.info("installed %s (sha256 of the archive %s)", target.root, digest)
    return PullSummary(target.root, n_q, n_a, n_j, digest)
