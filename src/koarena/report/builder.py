"""`koarena report`: the leaderboard and judgment browser as one static, offline site.

Layout of the site::

    index.html            leaderboard under each control, CI chart, per-cluster win rates
    browse.html           judgment browser (loads its data lazily as <script> shards)
    model.html            one model: Korean fidelity, weakest clusters, judge agreement
    analysis.html         judge reliability, separability, weakest clusters, Korean fidelity
                          (`koarena.analysis.analyze`, data inline; left out with analysis=False)
    assets/               CSS and JavaScript
    data/index.js         question list, models and every verdict, for search and filters
    data/q|a|j/...        the browser's shards (`koarena.report.shards`)

The build reads every input file once (`koarena.report.inputs`, spread over worker processes),
fits the leaderboards (`koarena.leaderboard`) and hands the same data and fits to the analysis
(`koarena.analysis`); this module only arranges them. Once the data is loaded, a forked child
(`koarena.report.forked`) fits part of the controls and runs the analysis while this process
fits the rest and links the shards. It writes into a directory beside the target, starting from
the site the last build replaced, and swaps it in at the end (`koarena.report.staging`); every
file it writes comes from the build cache (`koarena.report.cache`), so that a rebuild renders
only what changed and an unchanged one only relinks the previous site.
"""

from __future__ import annotations

import hashlib
import logging
import os
import statistics
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from koarena.analysis import AnalyzeOptions, Preloaded, analyze
from koarena.bench import Bench
from koarena.categories import Categories, bench_categories, members
from koarena.clusters import cluster_win_rates
from koarena.controls import DEFAULT_CONTROL, STANDARD_CONTROLS, Control
from koarena.errors import DataError
from koarena.gc_paused import gc_paused
from koarena.leaderboard import (
    DEFAULT_ROUNDS,
    DEFAULT_SEED,
    Leaderboard,
    LoadedData,
    compute_category_leaderboards,
    fit_leaderboards,
    loaded_data,
)
from koarena.records import Judgment, Question
from koarena.report.analysis_page import analysis_page_data
from koarena.report.cache import (
    BuildCache,
    cache_dir_for,
    code_version,
    digest,
    file_digest,
    renderer_version,
)
from koarena.report.forked import forked
from koarena.report.inputs import (
    AnswerEntry,
    FileTask,
    answers_of,
    check_record,
    judgments_of,
    read_file,
    render_lines,
)
from koarena.report.jsdata import script_json, shard_text
from koarena.report.model_page import model_page_data
from koarena.report.shards import (
    GameText,
    answer_shard,
    judge_shard,
    name_key,
    question_payload,
    question_shard,
    verdict_code,
)
from koarena.report.staging import (
    MARKER,
    check_target,
    remove_leftovers,
    scan_stage,
    staged_output,
)
from koarena.verdicts import DEFAULT_WEIGHT

log = logging.getLogger(__name__)

__all__ = ["MARKER", "ReportSummary", "build_report", "topic"]

ASSETS = ("report.css", "common.js", "leaderboard.js", "browse.js", "analysis.js", "model.js")
INDEX_ASSETS = ("report.css", "common.js", "leaderboard.js")
"""The assets index.html loads: with index.html itself, what the ≤ 2 MB budget counts."""
CONTROLS = (
    DEFAULT_CONTROL,
    *(c for c in (*STANDARD_CONTROLS, Control.STYLE_KOREAN) if c is not DEFAULT_CONTROL),
)
"""The leaderboards the site offers: without control, the three published style controls and
style control with each answer's Hangul share as a fifth covariate; the default first (the page
shows the first one until another is chosen)."""


@dataclass(frozen=True)
class ReportSummary:
    """What a build wrote."""

    output: Path
    questions: int
    models: int
    """Models on the leaderboard, the baseline included (as `koarena leaderboard` counts)."""
    judges: list[str]
    controls: list[str]
    index_bytes: int
    shard_bytes: int
    analysis_bytes: int | None
    """Size of analysis.html, None when the build left the analysis out."""
    view_bytes: tuple[int, int, int]
    """What the browser downloads to show one question with one model's answer (its shard,
    the baseline's and the model's answer): smallest, median and largest over all views."""
    rendered: int
    """Shards rendered by this build; the others came from the cache."""
    reused: bool = False
    """True when nothing changed and the previous site was relinked as it was."""


def build_report(
    bench: Bench,
    output: Path,
    *,
    judges: list[str] | None = None,
    baseline: str | None = None,
    rounds: int = DEFAULT_ROUNDS,
    seed: int = DEFAULT_SEED,
    workers: int | None = None,
    analysis: bool = True,
    reference: Path | None = None,
) -> ReportSummary:
    """Write the site for ``bench`` into ``output``; see the module docstring for its layout.

    ``reference`` (a leaderboard CSV) adds the validity metrics to the analysis page. On a bench
    with categories (Arena-Hard v2.0) each category has its own leaderboards and baseline.

    ``output`` is replaced only when the build succeeds; it must be absent, empty or a site
    this function wrote, with no symbolic link in it.
    """
    bench.require()
    questions = bench.load_questions()
    judges = judges or bench.require_judgments()
    cats = bench_categories(bench)
    baselines = sorted({c.baseline for c in cats.values()})
    base = baseline or bench.default_baseline() or (baselines[0] if baselines else None)
    if not base:
        raise DataError("no baseline given and the bench's judge_config.yaml names none")
    if not cats and not bench.answer_file(base).is_file():
        raise DataError(f"baseline {base!r} has no answers ({bench.answer_file(base)} not found)")
    answer_files = {m: bench.answer_file(m) for m in bench.answer_models()}
    judgment_files = {}
    for judge in judges:
        models = bench.judged_models(judge)
        if not models:
            raise DataError(f"judge {judge!r} has no judgment files in {bench.judgment_dir(judge)}")
        judgment_files.update({(judge, m): bench.judgment_file(judge, m) for m in models})

    cache = BuildCache(cache_dir_for(output))
    shas = {p: file_digest(p) for p in [*answer_files.values(), *judgment_files.values()]}
    options = [bench.name, judges, base, rounds, seed, analysis,
               file_digest(reference) if reference else None]
    site_key = "site-" + digest(
        code_version(),
        options,
        file_digest(bench.question_file),
        sorted((str(p.relative_to(bench.root)), sha) for p, sha in shas.items()),
    )
    tasks = [
        FileTask(p, m, None, "answers-" + digest(shas[p], m, code_version()), cache.root)
        for m, p in answer_files.items()
    ] + [
        FileTask(p, m, j, "judgments-" + digest(shas[p], j, m, code_version()), cache.root)
        for (j, m), p in judgment_files.items()
    ]
    with cache.lock(output):
        check_target(output)
        remove_leftovers(output)
        current = SiteWriter.current(cache, site_key, output)
        if current is not None:
            return current
        with staged_output(output, site_key) as stage:
            writer = SiteWriter(stage, cache)
            writer.records.update(t.key for t in tasks)
            summary = writer.reuse(site_key, output)
            if summary is None:
                build = _Build(bench, questions, judges, base, rounds, seed, writer)
                build.cats, build.reference = cats, reference
                build.parallel = (workers or os.cpu_count() or 1) > 1
                with _Workers(workers, len(tasks)) as pool, gc_paused():
                    judged = {m for (_, m) in judgment_files} | set(baselines)
                    records = build.read_inputs(tasks, judged, pool)
                    summary = build.write(records, output, analysis)
            writer.finish()
            writer.save(site_key, summary)
        removed = cache.prune(writer.objects, {site_key, *writer.records})
    log.info("build cache %s: %d unused entries removed", cache.root, removed)
    return summary


class SiteWriter:
    """Puts every file of the site into the stage as a link to a cache object, and remembers
    which, so that an unchanged rebuild can relink them all.

    The stage may hold the previous site (`koarena.report.staging.staged_output`): an entry
    that is already the right object (the same inode: a hard link to it) is kept, any other
    is replaced, and what the site no longer has is removed by `finish`."""

    def __init__(self, stage: Path, cache: BuildCache) -> None:
        self.stage = stage
        self.cache = cache
        self.files: dict[str, str] = {}
        self.records: set[str] = set()
        self.found = scan_stage(stage)
        self.folders: set[str] = set(self.found.folders)
        # inode numbers only identify a file on one file system (where links are refused,
        # the site holds copies, which are never the object)
        self.linked = os.stat(stage).st_dev == os.stat(cache.root).st_dev

    @property
    def objects(self) -> set[str]:
        return set(self.files.values())

    def link(self, rel: str, key: str) -> int:
        """Put object ``key`` at ``rel``; returns its size."""
        src = self.cache.object_path(key)
        st = os.stat(src)
        dest = os.path.join(self.stage, rel)
        self.files[rel] = key
        had = self.found.files.pop(rel, None)
        if had is not None:
            if self.linked and had == st.st_ino:
                return st.st_size
            os.unlink(dest)
        else:
            # tens of thousands of files: one mkdir per directory, not per file
            folder = os.path.dirname(rel)
            if folder not in self.folders:
                os.makedirs(os.path.join(self.stage, folder), exist_ok=True)
                self.folders.add(folder)
        self.cache.link(key, dest)
        return st.st_size

    def emit(self, rel: str, data: bytes) -> int:
        """Write ``data`` as the file ``rel`` (through the cache, keyed by its content)."""
        key = hashlib.sha256(data).hexdigest()
        if not self.cache.has(key):
            self.cache.put(key, data)
        return self.link(rel, key)

    def finish(self) -> None:
        """Remove what the stage held and the site no longer has."""
        for rel in self.found.files:
            os.unlink(os.path.join(self.stage, rel))
        self.found.files.clear()
        wanted = {""}
        for rel in self.files:
            folder = os.path.dirname(rel)
            while folder not in wanted:
                wanted.add(folder)
                folder = os.path.dirname(folder)
        for folder in sorted(self.folders - wanted, key=len, reverse=True):
            os.rmdir(os.path.join(self.stage, folder))
        self.folders &= wanted

    @staticmethod
    def current(cache: BuildCache, site_key: str, output: Path) -> ReportSummary | None:
        """The summary of ``output`` if it is the site recorded under ``site_key`` exactly as
        that build left it (every file the cache's object itself, no other file), else None.
        Then there is nothing to do at all."""
        record = cache.record(site_key)
        marker = output / MARKER
        if record is None or not marker.is_file() or site_key not in marker.read_text("utf-8"):
            return None
        files: dict[str, str] = record["files"]
        found = sum(len(names) for _, _, names in os.walk(output)) - 1  # the marker
        if found != len(files) or not all(
            cache.same_file(key, output / rel) for rel, key in files.items()
        ):
            return None
        log.info("inputs, options and code unchanged and the site intact: nothing to do")
        return _summary(record["summary"], output)

    def reuse(self, site_key: str, output: Path) -> ReportSummary | None:
        """Relink the site recorded under ``site_key``; None when there is none (or an object
        of it is gone)."""
        record = self.cache.record(site_key)
        if record is None or not all(self.cache.has(k) for k in record["files"].values()):
            return None
        log.info("inputs, options and code unchanged: relinking the previous site")
        for rel, key in record["files"].items():
            self.link(rel, key)
        return _summary(record["summary"], output)

    def save(self, site_key: str, summary: ReportSummary) -> None:
        fields = {k: v for k, v in summary.__dict__.items() if k not in ("output", "reused")}
        self.cache.put_record(site_key, {"files": self.files, "summary": fields})


def _summary(s: dict[str, Any], output: Path) -> ReportSummary:
    low, median, high = s["view_bytes"]
    return ReportSummary(
        output=output, questions=s["questions"], models=s["models"], judges=s["judges"],
        controls=s["controls"], index_bytes=s["index_bytes"], shard_bytes=s["shard_bytes"],
        analysis_bytes=s["analysis_bytes"], view_bytes=(low, median, high), rendered=0,
        reused=True,
    )


@dataclass
class _Records:
    """What the input files gave: every answer file's answers, each judge's judgments."""

    answers: dict[str, dict[str, AnswerEntry]]
    judgments: dict[str, list[Judgment]]
    judge_shards: dict[tuple[str, str, str], str]
    """(judge, model, question id) → cache key of the judge shard, where there is text."""
    fresh: dict[str, dict[str, Any]]
    """The records of the files read by this build, cached once their shards are."""
    rendering: list[Future[int]]
    """Shards still being rendered by the workers (each gives how many it rendered)."""

    def finish(self, cache: BuildCache) -> int:
        """Wait for the rendering, then cache the new records; returns the shards rendered."""
        rendered = sum(int(r["rendered"]) for r in self.fresh.values())
        rendered += sum(f.result() for f in self.rendering)
        for key, record in self.fresh.items():
            cache.put_record(key, {k: v for k, v in record.items() if k != "pending"})
        return rendered


class _Build:
    def __init__(
        self,
        bench: Bench,
        questions: list[Question],
        judges: list[str],
        baseline: str,
        rounds: int,
        seed: int,
        writer: SiteWriter,
    ) -> None:
        self.bench = bench
        self.questions = questions
        self.judges = judges
        self.baseline = baseline
        self.rounds = rounds
        self.seed = seed
        self.writer = writer
        self.cache = writer.cache
        self.cats: Categories = {}
        self.reference: Path | None = None
        self.baseline_of: dict[str, str] = {}
        """Each question's baseline: one for all but on a bench with categories."""
        self.parallel = False
        """Whether to fit the leaderboards in two processes (see `fitting`)."""

    def read_inputs(
        self, tasks: list[FileTask], judged: set[str], workers: _Workers
    ) -> _Records:
        """Each input file's record: from the cache, or read by the workers (whose rendering
        may still be under way: see `_Records.rendering`)."""
        # the workers read the new files while this process loads the cached records
        todo = [t for t in tasks if not self.cache.has_record(t.key)]
        reading = workers.read(todo)
        new = {t.key for t in todo}
        records: dict[str, Any] = {}
        unreadable = []
        for t in tasks:
            if t.key not in new:
                found = self.cache.record(t.key)
                if found is None:
                    unreadable.append(t)
                else:
                    records[t.key] = found
        fresh = dict(zip([t.key for t in todo], reading(), strict=True))
        fresh.update({t.key: read_file(t) for t in unreadable})
        records.update(fresh)
        rendering = workers.render([(t, fresh[t.key]["pending"]) for t in todo])
        log.info("%d of %d input files read, %d from the cache",
                 len(fresh), len(tasks), len(tasks) - len(fresh))

        judged = judged | {self.baseline}
        answers: dict[str, dict[str, AnswerEntry]] = {}
        for t in tasks:
            rec = records[t.key]
            for lineno, why in rec["malformed"]:
                log.warning("%s:%d skipped: %s", t.path, lineno, why)
            if t.judge is not None or t.model in judged:
                check_record(rec, t.path)
            if t.judge is None:
                answers[t.model] = answers_of(rec)
        judgments: dict[str, list[Judgment]] = {j: [] for j in self.judges}
        judge_shards: dict[tuple[str, str, str], str] = {}
        for t in tasks:
            if t.judge is None:
                continue
            for j, key in judgments_of(records[t.key]):
                judgments[t.judge].append(j)
                if key is not None:
                    judge_shards[(t.judge, t.model, j.question_id)] = key
        return _Records(answers, judgments, judge_shards, fresh, rendering)

    @contextmanager
    def fitting(self, records: _Records, with_analysis: bool) -> Iterator[_Fits]:
        """The leaderboards of every judge under every control of the site, and the analysis:
        a forked child fits the controls of `AWAY` and runs the analysis on them while this
        process fits the others and goes on with the shards (with one worker, all here)."""
        plain = {m: {q: e.answer for q, e in by_q.items()} for m, by_q in records.answers.items()}
        data = {
            judge: loaded_data(
                records.judgments[judge], plain.get, baseline=self.baseline, judges=[judge],
                weight=DEFAULT_WEIGHT,
            )
            for judge in self.judges
        }
        for judge in self.judges:
            log.info("leaderboards of judge %s (%d bootstrap rounds)", judge, self.rounds)
        models = sorted({m for d in data.values() for m in d.battles.models} - {self.baseline})

        def away(controls: Sequence[Control]) -> _Away:
            fits = self._fit(data, controls)
            boards = {j: b for j, (b, _) in fits.items()}
            # the uncontrolled boards, fitted in this same call, order the index's models
            order = _model_order(boards, self.judges, self.baseline)
            return _Away(
                fits,
                self.analysis(records, boards) if with_analysis else None,
                self._index(records, order),
            )

        if not self.parallel:
            yield _Fits(models, {}, lambda: away(CONTROLS))
            return
        with forked(lambda: away(AWAY)) as child:
            here = self._fit(data, [c for c in CONTROLS if c not in AWAY])
            yield _Fits(models, here, child.result)

    def _fit(self, data: dict[str, LoadedData], controls: Sequence[Control]) -> FitsByJudge:
        """Each judge's boards under ``controls``, and why only the uncontrolled one was fitted
        (None when all were)."""
        out: FitsByJudge = {}
        for judge, loaded in data.items():
            try:
                out[judge] = (self._boards(loaded, controls), None)
            except DataError as exc:
                # Style control needs every answer's length and markdown counts; without them
                # the uncontrolled leaderboard is still worth showing.
                plain = [c for c in controls if c is Control.NONE]
                out[judge] = (self._boards(loaded, plain), str(exc))
        return out

    def _boards(self, data: LoadedData, controls: Iterable[Control]) -> dict[Control, Leaderboard]:
        return fit_leaderboards(data, controls, bench=self.bench.name, rounds=self.rounds,
                                seed=self.seed)

    def analysis(
        self, records: _Records, boards: dict[str, dict[Control, Leaderboard]]
    ) -> dict[str, Any]:
        plain = {m: {q: e.answer for q, e in by_q.items()} for m, by_q in records.answers.items()}
        log.info("analysis of judges %s", ", ".join(self.judges))
        preloaded = Preloaded(self.questions, records.judgments, plain, boards)
        fitted = tuple(c for c in (Control.NONE, Control.STYLE) if c in boards[self.judges[0]])
        opts = AnalyzeOptions(
            judges=self.judges, baseline=self.baseline, rounds=self.rounds, seed=self.seed,
            controls=fitted, reference=self.reference,
        )
        return analyze(self.bench, opts, preloaded)

    def write(self, records: _Records, output: Path, with_analysis: bool) -> ReportSummary:
        by_category = (
            _category_boards(self.bench, self.judges, self.rounds, self.seed) if self.cats else {}
        )
        if by_category:
            # The first category's boards stand at the top level; the page switches between all.
            first = next(iter(by_category))
            boards = by_category[first]
            self.baseline = self.cats[first].baseline
            models = _model_order_categories(by_category, self.judges)
            self.baseline_of = {
                q.question_id: self.cats[q.category].baseline for q in self.questions
            }
            rendered = records.finish(self.cache)
            shard_bytes, views, questions = self._shards(records, models)
            index = self._index(records, models)
        else:
            self.baseline_of = {q.question_id: self.baseline for q in self.questions}
            with self.fitting(records, with_analysis) as fits:
                # while the child fits: the shards, which need the models but not their order
                rendered = records.finish(self.cache)
                shard_bytes, views, questions = self._shards(records, fits.models)
                boards, result, index = fits.all()
            models = _model_order(boards, self.judges, self.baseline)
        shard_bytes += self.writer.emit("data/index.js", index)
        controls = [c.value for c in CONTROLS if c in boards[self.judges[0]]]
        page = {
            "bench": self.bench.name,
            "baseline": self.baseline,
            "judges": self.judges,
            "controls": controls,
            "rounds": self.rounds,
            "seed": self.seed,
            "questions": len(self.questions),
            "boards": _page_boards(boards),
            "clusters": {
                j: _clusters(by_c[Control.NONE], self.questions) for j, by_c in boards.items()
            },
            "categories": [
                {
                    "name": c,
                    "baseline": self.cats[c].baseline,
                    "questions": len(members(self.questions, c)),
                    "boards": _page_boards(by_judge),
                    "clusters": {
                        j: _clusters(by_c[Control.NONE], self.questions)
                        for j, by_c in by_judge.items()
                    },
                }
                for c, by_judge in by_category.items()
            ],
        }
        if by_category:
            model_page = self._category_model_pages(records, by_category)
            analysis_page = (
                self._category_analyses(list(by_category), models) if with_analysis else None
            )
        else:
            model_page = model_page_data(
                boards, records.judgments, {m: {q: e.answer for q, e in by_q.items()}
                                            for m, by_q in records.answers.items()},
                self.questions, models, self.baseline,
            )
            analysis_page = None if result is None else analysis_page_data(result, models)
        index_bytes, analysis_bytes = self._pages(page, analysis_page, model_page)
        return ReportSummary(
            output=output,
            questions=len(self.questions),
            models=len({*models, *self.baseline_of.values()}),  # the baselines too
            judges=self.judges,
            controls=controls,
            index_bytes=index_bytes,
            shard_bytes=shard_bytes,
            analysis_bytes=analysis_bytes,
            view_bytes=views,
            rendered=rendered + questions,
        )

    def _category_model_pages(
        self,
        records: _Records,
        by_category: dict[str, dict[str, dict[Control, Leaderboard]]],
    ) -> dict[str, Any]:
        """The model page's data of each category (its questions, judgments and baseline),
        the first one's also at the top level (what the page shows first)."""
        pages: list[dict[str, Any]] = []
        for category, boards in by_category.items():
            ids = members(self.questions, category)
            baseline = self.cats[category].baseline
            page = model_page_data(
                boards,
                {j: [x for x in js if x.question_id in ids] for j, js in records.judgments.items()},
                {m: {q: e.answer for q, e in by_q.items() if q in ids}
                 for m, by_q in records.answers.items()},
                [q for q in self.questions if q.question_id in ids],
                _model_order(boards, self.judges, baseline),
                baseline,
            )
            pages.append({"name": category, "data": page})
        return {**pages[0]["data"], "categories": pages}

    def _category_analyses(self, categories: list[str], models: list[str]) -> dict[str, Any]:
        """The analysis page's data of each category (`analyze` reads and fits a category
        itself: it has its own baseline), the first one's also at the top level."""
        pages: list[dict[str, Any]] = []
        for category in categories:
            log.info("analysis of category %s", category)
            try:
                result = analyze(self.bench, AnalyzeOptions(
                    judges=self.judges, rounds=self.rounds, seed=self.seed,
                    reference=self.reference, category=category,
                ))
            except DataError as exc:
                log.warning("no analysis of category %s: %s", category, exc)
                continue
            pages.append({"name": category, "data": analysis_page_data(result, models)})
        if not pages:
            raise DataError("no category of the bench could be analysed")
        return {**pages[0]["data"], "categories": pages}

    def _shards(
        self, records: _Records, models: list[str]
    ) -> tuple[int, tuple[int, int, int], int]:
        """Link the browser's shards (but its index); returns the bytes of all shards, the
        (min, median, max) download of one view and how many question shards were
        rendered."""
        total = rendered = 0
        views: list[int] = []
        for q in self.questions:
            rel = question_shard(q)
            key = digest("question", renderer_version(), rel, q.question_id, q.cluster,
                         q.ko_cluster, q.turns)
            if not self.cache.has(key):
                self.cache.put(key, shard_text(rel, question_payload(q)).encode("utf-8"))
                rendered += 1
            q_size = self.writer.link("data/" + rel, key)
            total += q_size
            sizes = {}
            base = self.baseline_of[q.question_id]
            for m in [base, *models]:
                entry = records.answers.get(m, {}).get(q.question_id)
                if entry is not None:
                    sizes[m] = self.writer.link(
                        "data/" + answer_shard(m, q.question_id), entry.key
                    )
                    total += sizes[m]
            views.extend(q_size + sizes.get(base, 0) + sizes.get(m, 0) for m in models)
            for judge in self.judges:
                for m in models:
                    jkey = records.judge_shards.get((judge, m, q.question_id))
                    if jkey is not None:
                        total += self.writer.link(
                            "data/" + judge_shard(judge, m, q.question_id), jkey
                        )
        views.sort()
        spread = (views[0], int(statistics.median(views)), views[-1]) if views else (0, 0, 0)
        return total, spread, rendered

    def _index(self, records: _Records, models: list[str]) -> bytes:
        """The browser's index (``data/index.js``), ``models`` in the order it lists them."""
        judgments = {
            j: {(m.model, m.question_id): m for m in js} for j, js in records.judgments.items()
        }
        index = self._browse_index(records, models, judgments)
        return shard_text("index.js", index).encode("utf-8")

    def _browse_index(
        self,
        records: _Records,
        models: list[str],
        judgments: dict[str, dict[tuple[str, str], Judgment]],
    ) -> dict[str, Any]:
        problems: dict[str, dict[str, dict[str, list[str]]]] = {}
        texts: dict[str, dict[str, str]] = {}
        for judge in self.judges:
            for m in models:
                flags = []
                for q in self.questions:
                    j = judgments[judge].get((m, q.question_id))
                    flags.append("1" if (judge, m, q.question_id) in records.judge_shards else "0")
                    if j is None:
                        continue
                    found = [g.problem for g in GameText.of(j)]
                    if any(found):
                        problems.setdefault(judge, {}).setdefault(m, {})[q.question_id] = found
                if "1" in flags:
                    texts.setdefault(judge, {})[m] = "".join(flags)
        return {
            "bench": self.bench.name,
            "baseline": self.baseline,
            "judges": self.judges,
            "judge_keys": {j: name_key(j) for j in self.judges},
            "models": models,
            "model_keys": {
                m: name_key(m) for m in [*sorted(set(self.baseline_of.values())), *models]
            },
            "weight": DEFAULT_WEIGHT,
            "questions": [
                {
                    "id": q.question_id,
                    "key": name_key(q.question_id),
                    "cluster": q.cluster,
                    "topic": topic(q),
                    "text": "\n".join(q.turns),
                    "category": q.category,
                    "baseline": self.baseline_of[q.question_id],
                }
                for q in self.questions
            ],
            "verdicts": {
                j: {
                    m: "".join(
                        verdict_code(judgments[j].get((m, q.question_id))) for q in self.questions
                    )
                    for m in models
                }
                for j in self.judges
            },
            "problems": problems,
            "explained": texts,
        }

    def _pages(
        self,
        page: dict[str, Any],
        analysis: dict[str, Any] | None,
        model_page: dict[str, Any],
    ) -> tuple[int, int | None]:
        """Write the HTML pages and assets; returns the size of index.html plus its assets
        and that of analysis.html (None without the analysis: then no page and no link)."""
        env = _environment()
        common = {"bench": self.bench.name, "has_analysis": analysis is not None}
        pages = {
            "index.html": env.get_template("index.html").render(
                page=page, current="index", **common),
            "browse.html": env.get_template("browse.html").render(current="browse", **common),
            "model.html": env.get_template("model.html").render(
                data=model_page, current="model", **common),
        }
        if analysis is not None:
            pages["analysis.html"] = env.get_template("analysis.html").render(
                analysis=analysis, current="analysis", **common)
        sizes = {name: self.writer.emit(name, text.encode("utf-8")) for name, text in pages.items()}
        static = resources.files("koarena.report") / "static"
        size = sizes["index.html"]
        for name in ASSETS:
            n = self.writer.emit(f"assets/{name}", (static / name).read_bytes())
            if name in INDEX_ASSETS:
                size += n
        return size, sizes.get("analysis.html")


AWAY = (Control.NONE, Control.STYLE, Control.LENGTH)
"""The controls a forked child fits while the build fits the others (`_Build.fitting`): the
analysis needs the first two. The child's three fits and the analysis take about as long as the
other two fits and linking the shards (a one-new-model rebuild of the shared data took 5.7-6.0 s
with this split and 6.4-6.5 s with markdown fitted by the child too, alternating, load 3.5)."""

FitsByJudge = dict[str, tuple[dict[Control, Leaderboard], str | None]]


@dataclass
class _Away:
    """What the forked child of `_Build.fitting` sends back."""

    fits: FitsByJudge
    analysis: dict[str, Any] | None
    index: bytes
    """The browser's index, which needs the models' order."""


class _Fits:
    """What `_Build.fitting` gives: the judged models at once, the boards, the analysis and
    the browser's index once the child is done."""

    def __init__(
        self,
        models: list[str],
        here: FitsByJudge,
        away: Callable[[], _Away],
    ) -> None:
        self.models = models
        """The judged models but the baseline, in no particular order."""
        self._here = here
        self._away = away

    def all(self) -> tuple[dict[str, dict[Control, Leaderboard]], dict[str, Any] | None, bytes]:
        """Every judge's boards in the order of `CONTROLS` (only the uncontrolled one where a
        control could not be fitted, with the reason logged), the analysis and the index."""
        away = self._away()
        there = away.fits
        boards = {}
        for judge in there:
            parts = [there[judge], self._here.get(judge, ({}, None))]
            why = next((w for _, w in parts if w is not None), None)
            both = {c: b for found, _ in parts for c, b in found.items()}
            if why is not None:
                log.warning("judge %s: only the uncontrolled leaderboard (%s)", judge, why)
                both = {Control.NONE: both[Control.NONE]}
            boards[judge] = {c: both[c] for c in CONTROLS if c in both}
        return boards, away.analysis, away.index


class _Workers:
    """The build's worker processes (none when one would do: then all runs in this one)."""

    CHUNK = 50
    """Answers per rendering task when a few changed files are spread over the workers."""

    def __init__(self, workers: int | None, tasks: int) -> None:
        self.n = min(workers or os.cpu_count() or 1, max(1, tasks))
        self.pool = ProcessPoolExecutor(max_workers=self.n) if self.n > 1 else None

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def read(self, tasks: list[FileTask]) -> Callable[[], list[dict[str, Any]]]:
        """Start reading the files of ``tasks``, largest first so that no worker is left with
        a big file at the end; the returned function waits for their records. Many files (a
        cold build): each worker renders the files it reads. A few (a new model): rendering is
        left to `render`, which spreads it over all workers while this process fits the
        leaderboards."""
        inline = self.pool is None or len(tasks) > 2 * self.n
        if self.pool is None:
            return lambda: [read_file(t, inline) for t in tasks]
        order = sorted(range(len(tasks)), key=lambda i: -tasks[i].path.stat().st_size)
        futures = {i: self.pool.submit(read_file, tasks[i], inline) for i in order}
        return lambda: [futures[i].result() for i in range(len(tasks))]

    def render(self, pending: list[tuple[FileTask, list[int]]]) -> list[Future[int]]:
        """Render the pending lines of each file, in chunks over the workers."""
        futures: list[Future[int]] = []
        for task, lines in pending:
            for i in range(0, len(lines), self.CHUNK):
                chunk = lines[i : i + self.CHUNK]
                if self.pool is None:
                    done: Future[int] = Future()
                    done.set_result(render_lines(task, chunk))
                    futures.append(done)
                else:
                    futures.append(self.pool.submit(render_lines, task, chunk))
        return futures

def topic(q: Question) -> str:
    """The cluster a question is grouped under: its Korean cluster name, else the English one
    (benchmarks other than Ko-Arena-Hard have only ``cluster``)."""
    return q.ko_cluster or q.cluster


def _category_boards(
    bench: Bench, judges: list[str], rounds: int, seed: int
) -> dict[str, dict[str, dict[Control, Leaderboard]]]:
    """category → judge → control → board, for a bench with categories (Arena-Hard v2.0)."""
    out: dict[str, dict[str, dict[Control, Leaderboard]]] = {}
    for judge in judges:
        log.info("category leaderboards of judge %s (%d bootstrap rounds)", judge, rounds)
        try:
            boards = compute_category_leaderboards(
                bench, list(STANDARD_CONTROLS), judges=[judge], rounds=rounds, seed=seed,
                weight=DEFAULT_WEIGHT,
            )
        except DataError as exc:
            # as for a single baseline: without style covariates (or with too few battles for
            # v2.0's unpenalised fit), the uncontrolled leaderboards are still worth showing
            log.warning("judge %s: only the uncontrolled leaderboards (%s)", judge, exc)
            boards = compute_category_leaderboards(
                bench, [Control.NONE], judges=[judge], rounds=rounds, seed=seed,
                weight=DEFAULT_WEIGHT,
            )
        for category, by_control in boards.items():
            out.setdefault(category, {})[judge] = by_control
    # a category some judge has no verdicts for is shown with the judges that have
    return {c: by_judge for c, by_judge in out.items() if set(by_judge) == set(judges)}


def _page_boards(boards: dict[str, dict[Control, Leaderboard]]) -> dict[str, Any]:
    return {j: {c.value: _rows(b) for c, b in by_c.items()} for j, by_c in boards.items()}


def _model_order_categories(
    by_category: dict[str, dict[str, dict[Control, Leaderboard]]], judges: list[str]
) -> list[str]:
    """Judged models over all categories, each category's baseline left out of its own."""
    seen: dict[str, None] = {}
    for by_judge in by_category.values():
        for j in judges:
            board = by_judge[j][Control.NONE]
            for r in board.rows:
                if r.model != board.baseline:
                    seen.setdefault(r.model, None)
    return list(seen)


def _model_order(
    boards: dict[str, dict[Control, Leaderboard]], judges: list[str], baseline: str
) -> list[str]:
    """Judged models other than the baseline: by the first judge's score, then the rest."""
    seen: dict[str, None] = {}
    for j in judges:
        for r in boards[j][Control.NONE].rows:
            if r.model != baseline:
                seen.setdefault(r.model, None)
    return list(seen)


def _rows(board: Leaderboard) -> list[dict[str, Any]]:
    return [
        {
            "model": r.model,
            "score": r.score,
            "lower": r.lower,
            "upper": r.upper,
            "rating": round(r.rating, 2),
            "avg_tokens": r.avg_tokens,
            "n_battles": r.n_battles,
            "dropped_games": r.dropped_games,
            "failed_answers": r.failed_answers,
            "empty_answers": r.empty_answers,
            "truncated_answers": r.truncated_answers,
            "filtered_answers": r.filtered_answers,
        }
        for r in board.rows
    ]


def _clusters(board: Leaderboard, questions: list[Question]) -> dict[str, Any]:
    """Cluster names (Korean, English), question counts and, per model, [win rate %, battles]
    per cluster (null where the model has no battle there)."""
    cluster_of = {q.question_id: topic(q) for q in questions}
    rates = cluster_win_rates(board.battles, cluster_of)
    names = sorted({c for c in cluster_of.values() if c})
    english: dict[str, str] = {}
    counts: dict[str, int] = {}
    for q in questions:
        if topic(q):
            english.setdefault(topic(q), q.cluster)
            counts[topic(q)] = counts.get(topic(q), 0) + 1
    return {
        "names": names,
        "en": [english[c] for c in names],
        "questions": [counts[c] for c in names],
        "rates": {
            model: [
                [round(per[c].win_rate * 100.0, 1), per[c].battles] if c in per else None
                for c in names
            ]
            for model, per in rates.items()
            if model != board.baseline
        },
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("koarena.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["script_json"] = lambda v: Markup(script_json(v))
    return env


