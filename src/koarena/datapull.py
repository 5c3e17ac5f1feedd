"""`koarena data pull`: fetch the published Korean benchmark into a data directory.

The source is the ko-arena-hard-auto repository archive (a zip of the repository). From it we
take ``data/<bench>/question.jsonl``, ``data/<bench>/model_answer/*.jsonl``,
``data/<bench>/model_judgment/ensemble/*.jsonl`` and ``config/judge_config.yaml``. Everything is
unpacked into a temporary directory beside the target and verified (every line parses into a
typed record, no file is empty or ends in a torn line, the question set is complete, every
answer/judgment file refers only to known questions, judge_config.yaml is a YAML mapping) before
it replaces the bench directory, so a failed pull leaves nothing behind.

The archive comes from the network, so its size is not trusted: the download, each unpacked
file and all unpacked files together are capped (`Limits`), counted as the bytes arrive.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from koarena.bench import DATA_DIR_ENV, Bench, check_name
from koarena.ensemble import ENSEMBLE_JUDGE
from koarena.errors import DataError
from koarena.jsonl import LoadReport
from koarena.outfile import output_error

log = logging.getLogger(__name__)

DEFAULT_URL = "https://github.com/qwopqwop200/ko-arena-hard-auto/archive/refs/heads/main.zip"
EXPECTED_QUESTIONS = {"ko-arena-hard-v0.1": 500}

ProgressFn = Callable[[int, int | None], None]

MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps of a pull. The defaults leave a wide margin over the real data: the files taken
    unpack to 161 MB (154 files: 76 answer files, the largest 4.1 MB, 76 verdict files, the
    questions and the protocol; answers compress to ~29 %), and the repository archive, which
    also carries the per-judge judgments we do not take, is estimated at 150-300 MB."""

    download: int = 1024 * MB
    file: int = 64 * MB
    unpacked: int = 2048 * MB
    files: int = 5000


@dataclass
class PullSummary:
    bench_dir: Path
    questions: int
    answer_files: int
    judgment_files: int
    sha256: str


def download(url: str, dest: Path, progress: ProgressFn | None = None, timeout: float = 60,
             max_bytes: int = Limits.download) -> str:
    """Stream ``url`` to ``dest``, at most ``max_bytes``; returns the sha256 of what arrived."""
    digest = hashlib.sha256()
    too_big = DataError(f"download stopped: {url} is larger than {max_bytes / MB:g} MB "
                        "(raise --max-download if the archive has really grown)")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(dest, "wb") as out:
            total_hdr = resp.headers.get("Content-Length")
            total = int(total_hdr) if total_hdr and total_hdr.isdigit() else None
            if total is not None and total > max_bytes:
                raise too_big
            done = 0
            while chunk := resp.read(1 << 20):
                done += len(chunk)
                if done > max_bytes:
                    raise too_big
                out.write(chunk)
                digest.update(chunk)
                if progress is not None:
                    progress(done, total)
    except urllib.error.HTTPError as exc:
        raise DataError(f"download failed: {url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"download failed: cannot fetch {url} ({reason})") from exc
    return digest.hexdigest()


def _unpack(zf: zipfile.ZipFile, member: str, dest: Path, limits: Limits, budget: int) -> int:
    """Copy ``member`` to ``dest``, counting real bytes against the per-file cap and the
    remaining ``budget`` of the total (a zip's declared sizes are not trusted); returns the
    bytes written."""
    written = 0
    with zf.open(member) as src, open(dest, "wb") as out:
        while chunk := src.read(1 << 20):
            written += len(chunk)
            if written > limits.file:
                raise DataError(f"{member} unpacks to more than {limits.file / MB:g} MB "
                                "(raise --max-file if that is expected)")
            if written > budget:
                raise DataError(f"the archive unpacks to more than {limits.unpacked / MB:g} MB "
                                "(raise --max-unpacked if that is expected)")
            out.write(chunk)
    return written


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
    """Load every file of ``bench`` strictly; returns (questions, answer files, judgment files).

    Stricter than an ordinary load: a file without records or ending in a torn line is an
    error (a published archive has neither), and so is a judge_config.yaml that is not a
    YAML mapping.
    """
    bench.judge_config()
    load = LoadReport()
    questions = bench.load_questions(report=load)
    _whole(bench.question_file, load, len(questions))
    expected = EXPECTED_QUESTIONS.get(bench.name)
    if expected is not None and len(questions) != expected:
        raise DataError(f"expected {expected} questions, the archive has {len(questions)}")
    qids = {q.question_id for q in questions}
    models = bench.answer_models()
    for m in models:
        load = LoadReport()
        answers = bench.load_answers(m, report=load)
        _whole(bench.answer_file(m), load, len(answers))
        unknown = set(answers) - qids
        if unknown:
            raise DataError(f"answers of {m} refer to {len(unknown)} unknown questions")
    judged = (bench.judged_models(ENSEMBLE_JUDGE)
              if bench.judgment_dir(ENSEMBLE_JUDGE).is_dir() else [])
    for m in judged:
        load = LoadReport()
        judgments = bench.load_judgments(ENSEMBLE_JUDGE, m, report=load)
        _whole(bench.judgment_file(ENSEMBLE_JUDGE, m), load, len(judgments))
        unknown = {j.question_id for j in judgments} - qids
        if unknown:
            raise DataError(f"ensemble verdicts of {m} refer to {len(unknown)} unknown questions")
    return len(questions), len(models), len(judged)


def _whole(path: Path, load: LoadReport, records: int) -> None:
    if load.torn_tail:
        raise DataError(f"{path.name}: the last line is incomplete")
    if records == 0:
        raise DataError(f"{path.name}: no records")


def pull(
    data_dir: Path,
    bench_name: str,
    url: str = DEFAULT_URL,
    *,
    sha256: str | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
    limits: Limits | None = None,
) -> PullSummary:
    """Download, unpack, verify and install the bench; an existing bench needs ``force``.
    Nothing is left behind when any step fails (or the process is interrupted)."""
    limits = limits or Limits()
    target = Bench(data_dir, bench_name)
    if target.root.exists() and not force:
        raise DataError(f"{target.root} already exists (use --force to replace it)")
    made = [d for d in (data_dir, *data_dir.parents) if not d.exists()]  # innermost first
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        digest, counts = _pull_into(target, url, sha256, progress, limits)
    except OSError as exc:  # a full disk, a read-only data directory, a concurrent pull
        _remove_empty(made)
        raise output_error(data_dir, exc) from exc
    except BaseException:
        _remove_empty(made)
        raise
    n_q, n_a, n_j = counts
    log.info("installed %s (sha256 of the archive %s)", target.root, digest)
    return PullSummary(target.root, n_q, n_a, n_j, digest)


def _remove_empty(dirs: list[Path]) -> None:
    """Remove the directories a failed pull made (innermost first), if they are empty."""
    for d in dirs:
        with contextlib.suppress(OSError):
            d.rmdir()


def _pull_into(target: Bench, url: str, sha256: str | None, progress: ProgressFn | None,
               limits: Limits) -> tuple[str, tuple[int, int, int]]:
    """Download, unpack and verify in a temporary directory beside ``target``, then swap it
    in; returns the archive's sha256 and `verify`'s counts."""
    with tempfile.TemporaryDirectory(dir=target.data_dir, prefix=".pull-") as tmp:
        tmp_dir = Path(tmp)
        archive = tmp_dir / "archive.zip"
        try:
            digest = download(url, archive, progress, max_bytes=limits.download)
        except DataError as exc:
            raise DataError(
                f"{exc}; if you have the data, point at the directory that holds "
                f"{target.name}/ with --data-dir or ${DATA_DIR_ENV}"
            ) from exc
        if sha256 and digest != sha256.lower():
            raise DataError(f"checksum mismatch: expected {sha256}, got {digest}")
        staged = Bench(tmp_dir / "staged", target.name)
        try:
            with zipfile.ZipFile(archive) as zf:
                _, wanted = _members(zf, target.name)
                if len(wanted) > limits.files:
                    raise DataError(f"the archive has {len(wanted)} data files, more than "
                                    f"{limits.files}: not the published benchmark")
                budget = limits.unpacked
                for member, rel in wanted.items():
                    dest = staged.root / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    budget -= _unpack(zf, member, dest, limits, budget)
        except zipfile.BadZipFile as exc:
            raise DataError(f"{url} did not return a zip archive ({exc})") from exc
        counts = verify(staged)
        if target.root.exists():
            # Moved aside rather than deleted first: the bench is never missing for longer
            # than between two renames, and the old copy goes with the temporary directory.
            target.root.rename(tmp_dir / "previous")
        staged.root.rename(target.root)
    return digest, counts
