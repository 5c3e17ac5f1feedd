"""Markdown rendering speed: every answer of a bench, markdown-it-py + nh3 against the renderer.

    .venv/bin/python benchmarks/bench_markdown.py [--data-dir ../shared/data] [--every 1]

Renders every turn of every answer file (or every ``--every``-th answer) in this one process,
twice: with markdown-it-py + nh3 for every text (the renderer before cmark-gfm) and with
`render_markdown` (cmark-gfm + nh3, markdown-it-py where cmark refused raw HTML or a URL).
Prints CPU seconds of this process for each (the number to compare on a shared machine), the
load average, how many texts took the markdown-it-py path, and how many came out different
(exactly, and once whitespace is ignored). Timings are for reading, never asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from koarena.bench import Bench
from koarena.report.markdown import _cmark_html, _markdown, render_markdown, sanitize_html

REPO = Path(__file__).resolve().parents[1]


def answer_texts(bench: Bench, every: int) -> list[str]:
    """Every turn of every ``every``-th answer of each model, in file order."""
    texts: list[str] = []
    for model in bench.answer_models():
        answers = list(bench.load_answers(model).values())
        for a in answers[::every]:
            texts.extend(t for t in a.turns if t)
    return texts


def markdown_it_only(text: str) -> str:
    """The renderer before cmark-gfm: markdown-it-py with raw HTML off, then nh3."""
    return sanitize_html(_markdown().render(text))


def cpu_seconds(render: Callable[[str], str], texts: list[str]) -> tuple[float, list[str]]:
    """CPU seconds of this process to render ``texts``, and the HTML."""
    render(texts[0])  # builds the parser once, outside the timing
    t = time.process_time()
    out = [render(x) for x in texts]
    return time.process_time() - t, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--bench", default="ko-arena-hard-v0.1")
    parser.add_argument("--every", type=int, default=1, help="render every N-th answer")
    args = parser.parse_args()

    texts = answer_texts(Bench(args.data_dir, args.bench), args.every)
    mb = sum(len(x.encode("utf-8")) for x in texts) / 1e6
    print(f"{platform.python_version()} on {os.cpu_count()} cores; {len(texts)} texts, {mb:.1f} MB")

    print(f"load {os.getloadavg()[0]:.1f}: markdown-it-py + nh3 ...", file=sys.stderr)
    old_cpu, old = cpu_seconds(markdown_it_only, texts)
    print(f"load {os.getloadavg()[0]:.1f}: render_markdown ...", file=sys.stderr)
    new_cpu, new = cpu_seconds(render_markdown, texts)
    print(f"load {os.getloadavg()[0]:.1f}")

    fallback = sum(_cmark_html(x) is None for x in texts)
    differ = sum(a != b for a, b in zip(old, new, strict=True))
    blank = re.compile(r"\s+")
    differ_text = sum(
        blank.sub("", a) != blank.sub("", b) for a, b in zip(old, new, strict=True)
    )
    print(f"markdown-it-py + nh3: {old_cpu:7.1f} s CPU ({mb / old_cpu:5.1f} MB/s)")
    print(f"render_markdown:      {new_cpu:7.1f} s CPU ({mb / new_cpu:5.1f} MB/s)")
    print(f"markdown-it-py path: {fallback} of {len(texts)} texts ({fallback / len(texts):.1%})")
    print(f"different HTML: {differ}; ignoring whitespace: {differ_text}")


if __name__ == "__main__":
    main()
